import { proofBytes } from "../../auth/canonical.js";
import { checkProof } from "../../auth/signatures.js";
import { verifyTicket } from "../../auth/tickets.js";
import { command } from "../../protocol/dispatcher.js";
import { HychatError, wireError } from "../../protocol/errors.js";
import { encodeResponse } from "../../protocol/frames.js";
import { nameKey } from "../../protocol/names.js";
import { relayBodySchemas } from "../../protocol/relay-schemas.js";
import { addressGroup } from "../../transport/address-group.js";
import type { TrackerContext } from "../context.js";
import { requireCurrentDevice } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";
import type { RelayBroker } from "../relay-broker.js";

/** The refusal of an unanswered dial, after as long as one takes. */
function unansweredLater(broker: RelayBroker): Promise<object> {
  const waitMs = broker.limits.acceptTimeoutMs;
  return new Promise((_resolve, reject) => {
    setTimeout(
      () => reject(wireError("RELAY_UNAVAILABLE", `the host did not answer within ${waitMs} ms`)),
      waitMs,
    ).unref();
  });
}

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
    handle({ session, connection, requestId }, { channel, ticket, proof, fingerprint }) {
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
      const record = tracker.store.findChannel(channel);
      if (payload.role === "guest" && record?.view === "private")
        throw wireError("PRIVATE_CHANNEL", `${channel} is private: guests cannot join it`);
      const link = tracker.state.link(channel);
      const host = link?.session.identity?.username;
      if (link === undefined || host === undefined) {
        // An invisible owner's channel stays listed while its host is away: the refusal takes as
        // long as an unanswered dial, so it does not tell either.
        if (tracker.state.listed(channel) !== undefined) return unansweredLater(broker);
        throw wireError("RELAY_UNAVAILABLE", `${channel} is offline: no host to relay to`);
      }
      if (fingerprint !== undefined && fingerprint !== link.fingerprint)
        throw wireError("RELAY_UNAVAILABLE", `${channel}'s host presents another key now: list it again`);
      if (tracker.state.connections + broker.openSockets >= tracker.options.maxConnections)
        throw wireError("RELAY_LIMIT", "the tracker holds as many connections as it serves");
      const parties = {
        host: nameKey(host),
        member: `${payload.role}:${nameKey(payload.sub)}`,
        address: addressGroup(session.remoteAddress),
      };
      const { session: relaySession, accepted } = broker.open(parties);
      const member = connection.detach();
      broker.track(member);
      member.once("close", () => broker.abandon(relaySession));
      link.session.connection.event("RELAY_INCOMING", { session: relaySession, channel: link.name });
      accepted.then(
        (hostLeg) => {
          member.write(encodeResponse(requestId, "OK", {}));
          broker.splice(parties, member, hostLeg);
        },
        (error: unknown) => {
          const refusal =
            error instanceof HychatError
              ? error
              : wireError("RELAY_UNAVAILABLE", "the relay could not reach the host");
          broker.endRefused(member, encodeResponse(requestId, refusal.status, refusal.toBody()));
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
