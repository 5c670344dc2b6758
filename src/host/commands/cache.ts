import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { type HostContext, identityOf, joinedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { checkMaySend, checkRate, checkText } from "../sending.js";

/**
 * `CACHE`: store a client's outbox (1..500 messages) in order, all or nothing. Every message takes a
 * token of the sender's allowance, so a replay cannot outrun `MESSAGE`: a batch larger than
 * `cacheBurst` stores only its first `cacheBurst` and the answer lists those; the client's outbox
 * sends the rest again, in order.
 */
export function cacheCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.CACHE>({
    schema: hostBodySchemas.CACHE,
    async handle({ session }, body): Promise<HostOkBodies["CACHE"]> {
      const channel = joinedChannel(context, session, body.channel);
      const identity = identityOf(session);
      checkMaySend(channel, identity);
      for (const [index, message] of body.messages.entries()) {
        checkText(message.text, `messages.${index}.text`);
        context.verifier.checkCertificate(message.cert, identity.username, message.sentAt);
      }
      const storable = checkRate(context, channel, identity, body.messages.length);
      const results = await context.batcher.enqueue(
        channel,
        session,
        body.messages.slice(0, storable).map((message) => ({
          channel: channel.name,
          from: identity.username,
          msgId: message.msgId,
          text: message.text,
          sentAt: message.sentAt,
          sig: message.sig,
          cert: message.cert,
        })),
      );
      return {
        results: results.map((result) => ({
          msgId: result.message.msgId,
          seq: result.message.seq,
          ts: result.message.ts,
          duplicate: result.duplicate,
        })),
      };
    },
  });
}
