import { command } from "../../protocol/dispatcher.js";
import { type HostOkBodies, hostBodySchemas } from "../../protocol/host-schemas.js";
import { type HostContext, identityOf, joinedChannel } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { checkMaySend, checkRate, checkText } from "../sending.js";

/** `MESSAGE`: store one message (idempotent per sender and msgId), answer, then broadcast it. */
export function messageCommand(context: HostContext) {
  return command<MemberConnection, typeof hostBodySchemas.MESSAGE>({
    schema: hostBodySchemas.MESSAGE,
    async handle({ session }, body): Promise<HostOkBodies["MESSAGE"]> {
      const channel = joinedChannel(context, session, body.channel);
      const identity = identityOf(session);
      checkMaySend(channel, identity);
      checkText(body.text);
      context.verifier.checkCertificate(body.cert, identity.username, body.sentAt);
      checkRate(context, channel, identity, 1);
      const [result] = await context.batcher.enqueue(channel, session, [
        {
          channel: channel.name,
          from: identity.username,
          msgId: body.msgId,
          text: body.text,
          sentAt: body.sentAt,
          sig: body.sig,
          cert: body.cert,
        },
      ]);
      if (result === undefined) throw new Error("the batcher returned no result");
      return { seq: result.message.seq, ts: result.message.ts, duplicate: result.duplicate };
    },
  });
}
