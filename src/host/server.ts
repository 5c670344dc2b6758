import { Socket } from "node:net";
import { type Duplex, duplexPair } from "node:stream";
import type { Server } from "node:tls";
import { Connection } from "../protocol/connection.js";
import type { Dispatcher } from "../protocol/dispatcher.js";
import { wireError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { Admission } from "../transport/admission.js";
import { TCP_KEEPALIVE_MS } from "../transport/dial.js";
import { fitToOpenFileLimit, readOpenFileLimit } from "../transport/fd-limit.js";
import type { TlsIdentity } from "../transport/tls-identity.js";
import { createTlsServer } from "../transport/tls-server.js";
import type { Logger } from "../util/logger.js";
import { dropIfBacklogged } from "./fanout.js";
import type { HostLimits } from "./limits.js";
import { MemberConnection } from "./member-connection.js";

export interface HostServerOptions {
  /** The key and certificate members check against the fingerprint the tracker lists. */
  identity: TlsIdentity;
  /** Where the TLS session-ticket keys are kept. */
  dataDir: string;
  limits: HostLimits;
  logger: Logger;
  dispatcher: Dispatcher<MemberConnection>;
  /** A connection closed: take it out of its channels. */
  onSessionClosed(session: MemberConnection): void;
}

/** Sockets still in their TLS handshake beyond `maxConnections` (kept so the refusal can be told). */
const HANDSHAKE_SLACK = 256;

/** The host's TLS server: one `Connection` and one `MemberConnection` per accepted link. */
export class HostServer {
  readonly sessions = new Set<MemberConnection>();
  private readonly server: Server;
  /** The TLS server side of members' streams through the relay (`acceptRelayed`). */
  private readonly relayServer: Server;
  private readonly options: HostServerOptions;
  private readonly idleTimers = new Map<MemberConnection, NodeJS.Timeout>();
  /** Limits on connections without a user's `CONNECT`: per address, line cap, line budget. */
  private readonly admission: Admission;
  /** `limits.maxConnections`, lowered when it did not fit under the open-file limit. */
  readonly maxConnections: number;
  private refused = 0;
  private closing = false;
  /** Open streams through the tracker's relay (`acceptRelayed`), in their handshake or not. */
  private readonly relayedStreams = new Set<Duplex>();
  /** Open links from this process (`acceptLocal`). */
  private local = 0;

  constructor(options: HostServerOptions) {
    this.options = options;
    const sockets = fitToOpenFileLimit(options.limits.maxConnections, HANDSHAKE_SLACK, readOpenFileLimit());
    if (sockets.lowered) {
      // Not a warning: a peer on a desktop's usual `ulimit -n` of 1024 fits its default this way.
      options.logger.info(
        { configured: options.limits.maxConnections, maxConnections: sockets.maxConnections },
        "maxConnections lowered to stay under this process's open-file limit (raise it with ulimit -n)",
      );
    }
    this.maxConnections = sockets.maxConnections;
    this.admission = new Admission(options.limits);
    this.server = createTlsServer({
      identity: options.identity,
      dataDir: options.dataDir,
      maxSockets: sockets.maxConnections + sockets.handshakeSlack,
    });
    this.server.on("secureConnection", (socket) => this.accept(socket, "network"));
    // Never listens: relayed streams are handed to it, so their connections are told apart.
    this.relayServer = createTlsServer({
      identity: options.identity,
      dataDir: options.dataDir,
      maxSockets: sockets.maxConnections + sockets.handshakeSlack,
    });
    this.relayServer.on("secureConnection", (socket) => this.accept(socket, "relayed"));
    this.relayServer.on("tlsClientError", (error) =>
      options.logger.debug({ err: error }, "TLS handshake through the relay failed"),
    );
    this.server.on("tlsClientError", (error, socket) =>
      options.logger.debug({ err: error, remote: socket.remoteAddress }, "TLS handshake failed"),
    );
    // A failed bind is `listen`'s rejection, for the caller to handle; log only errors after that.
    this.server.on("error", (error) => {
      if (this.server.listening) options.logger.error({ err: error }, "host server error");
    });
  }

  listen(host: string, port: number): Promise<Address> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.off("error", onError);
        const address = this.server.address();
        if (address === null || typeof address === "string") {
          reject(new Error("the host server has no TCP address"));
          return;
        }
        resolve({ host, port: address.port });
      });
    });
  }

  stats(): {
    connections: number;
    local: number;
    relayed: number;
    identified: number;
    refused: number;
    queuedBytes: number;
    partialLineBytes: number;
  } {
    let identified = 0;
    let queuedBytes = 0;
    for (const session of this.sessions) {
      if (session.identity !== undefined) identified += 1;
      queuedBytes += session.connection.queuedBytes;
    }
    return {
      connections: this.sessions.size,
      local: this.local,
      relayed: this.relayedStreams.size,
      identified,
      refused: this.refused,
      queuedBytes,
      partialLineBytes: this.admission.lineBudget.heldBytes,
    };
  }

  /** Stops accepting, closes every connection, and resolves once all of them are gone. */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of [...this.sessions]) session.connection.close();
    // Those still in their handshake have no session yet.
    for (const stream of this.relayedStreams) stream.destroy();
    return closed;
  }

  /**
   * A member link from this same process (the owner's own client): a stream pair instead of a
   * socket, so the owner's copy of every message costs neither TLS nor the kernel. It is a member
   * connection like any other: `CONNECT` with a ticket, limits, heartbeats.
   */
  acceptLocal(): Duplex {
    const [ours, theirs] = duplexPair();
    this.local += 1;
    ours.once("close", () => {
      this.local -= 1;
    });
    this.accept(ours, "local");
    return theirs;
  }

  /**
   * A member's stream through the tracker's relay: the TLS server side runs inside it, as on a
   * socket, so the member checks this host's key end to end and the relay reads nothing.
   */
  acceptRelayed(stream: Duplex): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    // Relayed members share the tracker's address, so they get a cap of their own, handshakes
    // included: half the connections, the rest kept for members who dial in.
    if (this.relayedStreams.size >= Math.floor(this.maxConnections / 2)) {
      this.options.logger.info("relayed member refused: this host's share for the relay is full");
      stream.destroy();
      return;
    }
    this.relayedStreams.add(stream);
    stream.once("close", () => this.relayedStreams.delete(stream));
    this.relayServer.emit("connection", stream);
  }

  /**
   * `origin`: a socket from the network, a link from this process, or a stream through the relay.
   * Relayed members all show the tracker's address, so they are not counted per address: the relay
   * limits them per member instead.
   */
  private accept(socket: Duplex, origin: "network" | "local" | "relayed"): void {
    const local = origin === "local";
    // A handshake that was under way when `close` ran finishes afterwards: it gets no session.
    if (this.closing) {
      socket.destroy();
      return;
    }
    let address: string | undefined;
    if (socket instanceof Socket && origin === "network") {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
      address = socket.remoteAddress;
    }
    const { limits, logger, dispatcher } = this.options;
    const connectionOptions = {
      maxFrameBytes: limits.maxFrameBytes,
      // The host applies `limits.maxQueuedBytes` itself, to what a connection had left unread before
      // each batch or request (`dropIfBacklogged`): one large batch to a reader that keeps up must not
      // count against it, and `Connection` can only see the queue after a write.
      maxQueuedBytes: Number.MAX_SAFE_INTEGER,
      drainTimeoutMs: limits.drainTimeoutMs,
      heartbeatIntervalMs: limits.heartbeatIntervalMs,
    };
    if (this.sessions.size >= this.maxConnections) {
      this.refuse(socket, `this host accepts at most ${this.maxConnections} connections`);
      return;
    }
    if (!local && address !== undefined && !this.admission.admits(address)) {
      this.refuse(
        socket,
        `this host accepts at most ${limits.maxConnectionsPerAddress} connections without a user's CONNECT from one address`,
      );
      return;
    }
    const connection = new Connection(
      socket,
      {
        onRequest: (frame) => {
          if (!dropIfBacklogged(connection, limits.maxQueuedBytes))
            dispatcher.dispatch(session, connection, frame);
        },
        onClose: (_connection, error) => {
          clearTimeout(this.idleTimers.get(session));
          this.idleTimers.delete(session);
          admitted.leave();
          this.sessions.delete(session);
          if (error !== undefined) logger.debug({ err: error }, "host connection closed with an error");
          this.options.onSessionClosed(session);
        },
      },
      connectionOptions,
    );
    const admitted = this.admission.enter(connection, { ...(local ? {} : { address }), local });
    const session = new MemberConnection(connection, (identified) => {
      clearTimeout(this.idleTimers.get(identified));
      this.idleTimers.delete(identified);
      admitted.trust(identified.identity?.role === "user");
    });
    this.sessions.add(session);
    // Connections that never identify themselves are closed, however busy, so sockets cannot pile up.
    const deadlineMs = limits.unauthenticatedIdleMs;
    this.idleTimers.set(
      session,
      setTimeout(() => {
        this.idleTimers.delete(session);
        if (session.identity !== undefined) return;
        const message = `no CONNECT within ${deadlineMs} ms of connecting`;
        logger.debug({ remote: address }, message);
        connection.replyError(null, wireError("AUTH_TIMEOUT", message));
        connection.close();
      }, deadlineMs),
    );
  }

  /** Answers `TOO_MANY_CONNECTIONS` (with `id: null`) on a connection over a limit, and closes it. */
  private refuse(socket: Duplex, message: string): void {
    this.refused += 1;
    const refused = new Connection(
      socket,
      {},
      { maxFrameBytes: this.options.limits.preAuthMaxFrameBytes, heartbeatIntervalMs: 0 },
    );
    refused.replyError(null, wireError("TOO_MANY_CONNECTIONS", message));
    refused.close();
  }
}
