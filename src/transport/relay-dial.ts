import type { Duplex } from "node:stream";
import { Connection } from "../protocol/connection.js";
import { ConnectionError } from "../protocol/errors.js";
import { PROTOCOL_VERSION } from "../protocol/frames.js";
import { helloReplySchema } from "../protocol/hello-schemas.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { addressKey, dial } from "./dial.js";
import { pinnedTrust } from "./trust.js";

/** What a relayed dial signs: the relay connection's challenge and the relay's certificate. */
export interface RelayProofRequest {
  challenge: string;
  fingerprint: string;
  channel: string;
}

/** How a member reaches a channel's host through its tracker's relay. */
export interface RelayRoute {
  /** The tracker that relays, as the member dials it. */
  address: Address;
  /** Its certificate's fingerprint, verified on the member's tracker link: the relay must present the same. */
  fingerprint: string;
  /** The channel whose host to reach. */
  channel: string;
  /** The host key the member will check inside: the relay splices only to a host registered with it. */
  hostFingerprint: string;
  /** The member's ticket and its key's proof for this dial; undefined while signed out. */
  authorize(request: RelayProofRequest): { ticket: string; proof: string } | undefined;
}

/** The relay's own steps (HELLO, RELAY_DIAL) each get this long; the host dialing back gets more. */
const RELAY_HOST_WAIT_MS = 12_000;

/**
 * Opens a stream to a channel's host through its tracker's relay: TLS to the relay (the tracker's
 * key), `HELLO`, then `RELAY_DIAL` with the member's ticket and proof. After its `OK` the stream is
 * spliced to the host, and the caller runs TLS to the host inside it (`dial` with `over`), so the
 * relay carries only ciphertext it cannot read or forge.
 */
export async function dialThroughRelay(route: RelayRoute, timeoutMs: number): Promise<Duplex> {
  const label = `the relay at ${addressKey(route.address)}`;
  const { socket, fingerprint } = await dial(route.address, {
    trust: pinnedTrust(route.fingerprint, "TRACKER_KEY_MISMATCH", "the relay"),
    timeoutMs,
  });
  // One request after another, then raw bytes: no heartbeats on a connection this short.
  const connection = new Connection(socket, {}, { heartbeatIntervalMs: 0, requestTimeoutMs: timeoutMs });
  try {
    const hello = helloReplySchema.safeParse(
      await connection.request("HELLO", { version: PROTOCOL_VERSION }),
    );
    if (!hello.success || hello.data.server !== "tracker" || hello.data.challenge === undefined)
      throw new ConnectionError(
        "BAD_REPLY",
        `${label} answered HELLO with something else than a tracker's answer`,
      );
    if (hello.data.version !== PROTOCOL_VERSION)
      throw new ConnectionError(
        "BAD_REPLY",
        `${label} speaks protocol version ${hello.data.version}, this hychat ${PROTOCOL_VERSION}`,
      );
    const authorized = route.authorize({
      challenge: hello.data.challenge,
      fingerprint,
      channel: route.channel,
    });
    if (authorized === undefined)
      throw new ConnectionError("CONNECTION_CLOSED", "signed out: nothing to dial the relay with");
    return await connection.requestThenDetach(
      "RELAY_DIAL",
      { channel: route.channel, fingerprint: route.hostFingerprint, ...authorized },
      { timeoutMs: timeoutMs + RELAY_HOST_WAIT_MS },
    );
  } catch (error) {
    connection.destroy();
    throw error;
  }
}
