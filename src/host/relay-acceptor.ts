import type { Duplex } from "node:stream";
import { Connection } from "../protocol/connection.js";
import type { RelayIncoming } from "../protocol/relay-schemas.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { dial } from "../transport/dial.js";
import { pinnedTrust } from "../transport/trust.js";
import type { Logger } from "../util/logger.js";

export interface RelayAcceptorOptions {
  /** The tracker that relays, as the host's liveness link dials it. */
  tracker: Address;
  /** The tracker's certificate fingerprint as verified on the liveness link; undefined while it is down. */
  trackerFingerprint(): string | undefined;
  /** A stream a member waits at the other end of: the host runs its TLS server side inside it. */
  accept(stream: Duplex): void;
  /** Dial-backs under way at once; more are dropped (the member is told the host did not answer). */
  maxPending: number;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Answers `RELAY_INCOMING` on the liveness link: for each, a fresh connection to the relay,
 * `RELAY_ACCEPT` with the session id, and the stream that follows handed to the host's server as
 * if a member had dialed in. The relay is the host's own tracker, with the key it already checked.
 */
export class RelayAcceptor {
  private readonly dialing = new Set<Connection>();
  private pending = 0;
  private accepted = 0;
  private failed = 0;
  private closed = false;

  constructor(private readonly options: RelayAcceptorOptions) {}

  stats(): { pending: number; accepted: number; failed: number } {
    return { pending: this.pending, accepted: this.accepted, failed: this.failed };
  }

  incoming(request: RelayIncoming): void {
    const fingerprint = this.options.trackerFingerprint();
    if (this.closed || fingerprint === undefined || this.pending >= this.options.maxPending) {
      this.failed += 1;
      // Not a warning: members decide how often this happens.
      this.options.logger.info(
        { channel: request.channel, pending: this.pending, linkUp: fingerprint !== undefined },
        "relayed member not answered",
      );
      return;
    }
    this.pending += 1;
    void this.dialBack(request, fingerprint).finally(() => {
      this.pending -= 1;
    });
  }

  close(): void {
    this.closed = true;
    for (const connection of this.dialing) connection.destroy();
    this.dialing.clear();
  }

  private async dialBack(request: RelayIncoming, fingerprint: string): Promise<void> {
    let connection: Connection | undefined;
    try {
      const { socket } = await dial(this.options.tracker, {
        trust: pinnedTrust(fingerprint, "TRACKER_KEY_MISMATCH", "the relay"),
        timeoutMs: this.options.timeoutMs,
      });
      if (this.closed) {
        socket.destroy();
        return;
      }
      connection = new Connection(
        socket,
        {},
        { heartbeatIntervalMs: 0, requestTimeoutMs: this.options.timeoutMs },
      );
      this.dialing.add(connection);
      const stream = await connection.requestThenDetach("RELAY_ACCEPT", { session: request.session });
      this.dialing.delete(connection);
      if (this.closed) {
        stream.destroy();
        return;
      }
      this.accepted += 1;
      this.options.accept(stream);
    } catch (error) {
      if (connection !== undefined) {
        this.dialing.delete(connection);
        connection.destroy();
      }
      this.failed += 1;
      this.options.logger.info(
        { err: error, channel: request.channel },
        "dialing back through the relay failed",
      );
    }
  }
}
