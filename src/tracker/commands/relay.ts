import { proofBytes } from "../../auth/canonical.js";
import { checkProof } from "../../auth/signatures.js";
import { verifyTicket } from "../../auth/tickets.js";
import { command } from "../../protocol/dispatcher.js";
import { HychatError, wireError } from "../../protocol/errors.js";
import { encodeResponse } from "../../protocol/frames.js";
import { nameKey } from "../../protocol/names.js";
import { relayBodySchemas } from "../../protocol/relay-schemas.js";
import type { TrackerContext } from "../context.js";
import { requireCurrentDevice } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";
import type { RelayBroker } from "../relay-broker.js";

function requireRelay(tracker: TrackerContext): RelayBroker {
  if (tracker.relay === undefined)
    throw wireError("RELAY_UNAVAILABLE", "this tracker does not relay (it runs with --no-relay)");
  return tracker.relay;
}

/**
 * RELAY_DIAL: a member asks to reach `channel`'s host through the relay. Checked like a sign-in (a
 * current ticket and a proof of its key naming the channel), then the connection stops carrying
 * frames: the tracker tells the host on its liveness link, and once the host dials back the `OK`
 * is written and the two streams are spliced. The member then runs TLS to the host inside.
 */
export function relayDialCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof relayBodySchemas.RELAY_DIAL>({
    schema: relayBodySchemas.RELAY_DIAL,
    handle({ session, connection, requestId }, { channel, ticket, proof }) {
      const broker = requireRelay(tracker);
      const payload = verifyTicket(ticket, tracker.identity.publicKey, tracker.identity.issuer);
      checkProof(
        payload.key,
        proofBytes({
          purpose: "RELAY_DIAL",
          fingerprint: tracker.fingerprint,
          challenge: session.challenge,
          channel,
        }),
        proof,
        "RELAY_DIAL",
      );
      requireCurrentDevice(tracker, {
        username: payload.sub,
        role: payload.role,
        device: payload.dev,
        gen: payload.gen,
        key: payload.key,
      });
      const link = tracker.state.link(channel);
      const host = link?.session.identity?.username;
      if (link === undefined || host === undefined)
        throw wireError("RELAY_UNAVAILABLE", `${channel} is offline: no host to relay to`);
      const hostKey = nameKey(host);
      const memberKey = `${payload.role}:${nameKey(payload.sub)}`;
      const { session: relaySession, accepted } = broker.open(hostKey, memberKey);
      const member = connection.detach();
      member.once("close", () => broker.abandon(relaySession));
      link.session.connection.event("RELAY_INCOMING", { session: relaySession, channel: link.name });
      accepted.then(
        (hostLeg) => {
          member.write(encodeResponse(requestId, "OK", {}));
          broker.splice(hostKey, memberKey, member, hostLeg);
        },
        (error: unknown) => {
          const refusal =
            error instanceof HychatError
              ? error
              : wireError("RELAY_UNAVAILABLE", "the relay could not reach the host");
          member.end(encodeResponse(requestId, refusal.status, refusal.toBody()));
        },
      );
      // The connection is detached: this answer goes nowhere; the one above is written on the stream.
      return {};
    },
  });
}

/**
 * RELAY_ACCEPT: a host dials back for a waiting member. The session id is the credential: the
 * tracker sent it only on the host's own signed-in link. After the `OK` the stream is the member's.
 */
export function relayAcceptCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof relayBodySchemas.RELAY_ACCEPT>({
    schema: relayBodySchemas.RELAY_ACCEPT,
    handle({ connection, requestId }, { session }) {
      const broker = requireRelay(tracker);
      if (!broker.expects(session))
        throw wireError(
          "BAD_RELAY_SESSION",
          "no member waits for this relay session (it expired or was used)",
        );
      const leg = connection.detach();
      leg.write(encodeResponse(requestId, "OK", {}));
      broker.accept(session, leg);
      // Detached: this answer goes nowhere; the `OK` above is the one the host reads.
      return {};
    },
  });
}
