import type { KeyObject } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import type { Server } from "node:tls";
import { Connection } from "../protocol/connection.js";
import type { Dispatcher } from "../protocol/dispatcher.js";
import { wireError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { Admission } from "../transport/admission.js";
import { fitToOpenFileLimit, readOpenFileLimit } from "../transport/fd-limit.js";
import {
  loadOrCreateTlsIdentity,
  loadTlsIdentityFiles,
  type TlsIdentity,
} from "../transport/tls-identity.js";
import { createTlsServer } from "../transport/tls-server.js";
import { createLogger, type Logger } from "../util/logger.js";
import { plainAddress } from "./access.js";
import { ConnectionWatch, type Standing } from "./connection-watch.js";
import { TrackerContext } from "./context.js";
import { openTrackerData } from "./data-dir.js";
import { createTrackerDispatcher } from "./dispatcher.js";
import { type ResolvedTrackerOptions, resolveTrackerOptions, type TrackerOptions } from "./options.js";
import { PeerConnection } from "./peer-connection.js";
import type { RelayStats } from "./relay-broker.js";
import { OnlineState } from "./state.js";

/** Sockets still in their TLS handshake beyond `maxConnections` (kept so the refusal can be told). */
const HANDSHAKE_SLACK = 1_000;

function standingOf(session: PeerConnection): Standing {
  if (session.identity === undefined) return "anonymous";
  return session.identity.role === "guest" ? "guest" : "user";
}

/** A certificate given by the operator (`--tls-cert`), else the tracker's own, kept in its data dir. */
function trackerTlsIdentity(options: ResolvedTrackerOptions): Promise<TlsIdentity> {
  if (options.tlsCert !== undefined || options.tlsKey !== undefined) {
    if (options.tlsCert === undefined || options.tlsKey === undefined) {
      return Promise.reject(new Error("a TLS certificate needs its key, and a key its certificate"));
    }
    return Promise.resolve(loadTlsIdentityFiles(options.tlsCert, options.tlsKey));
  }
  return loadOrCreateTlsIdentity(options.dataDir, "hychat tracker");
}

export { DEFAULT_TRACKER_OPTIONS, DEFAULT_TRACKER_PORT, type TrackerOptions } from "./options.js";

/** The tracker: accounts, tickets and the channel directory, served over TCP (docs/protocol.md). */
export class TrackerServer {
  readonly address: Address;
  /** The fingerprint of the certificate the tracker presents, for peers to pin. */
  readonly fingerprint: string;
  readonly issuer: string;
  readonly publicKey: KeyObject;
  private readonly context: TrackerContext;
  private readonly dispatcher: Dispatcher<PeerConnection>;
  private readonly server: Server;
  private readonly options: ResolvedTrackerOptions;
  private readonly logger: Logger;
  /** Connections over the limit, being told so before they close. */
  private readonly refused = new Set<Connection>();
  /** Limits on connections not signed in as a user: per address, line cap, line budget. */
  private readonly admission: Admission;
  private closing: Promise<void> | undefined;

  /** Opens the store, loads or creates the key pair and resolves once the tracker is listening. */
  static async start(options: TrackerOptions): Promise<TrackerServer> {
    const configured = resolveTrackerOptions(options);
    const logger = options.logger ?? createLogger({ name: "tracker" });
    const sockets = fitToOpenFileLimit(configured.maxConnections, HANDSHAKE_SLACK, readOpenFileLimit());
    if (sockets.lowered) {
      // A warning when the operator asked for more; the default merely fitted to `ulimit -n`.
      const log = options.maxConnections === undefined ? logger.info.bind(logger) : logger.warn.bind(logger);
      log(
        { configured: configured.maxConnections, maxConnections: sockets.maxConnections },
        "maxConnections lowered to stay under this process's open-file limit (raise it with ulimit -n)",
      );
    }
    const resolved = { ...configured, maxConnections: sockets.maxConnections };
    const { identity, store } = openTrackerData(resolved.dataDir, options.store);
    let server: Server;
    let tls: TlsIdentity;
    try {
      tls = await trackerTlsIdentity(resolved);
      server = createTlsServer({
        identity: tls,
        dataDir: resolved.dataDir,
        maxSockets: sockets.maxConnections + sockets.handshakeSlack,
      });
    } catch (error) {
      store.close();
      throw error;
    }
    // Proofs sent to this tracker sign its certificate's fingerprint.
    const context = new TrackerContext(resolved, store, identity, tls.fingerprint, new OnlineState(), logger);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(resolved.port, resolved.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      store.close();
      throw error;
    }
    return new TrackerServer(server, context, tls.fingerprint);
  }

  private constructor(server: Server, context: TrackerContext, fingerprint: string) {
    this.server = server;
    this.fingerprint = fingerprint;
    this.context = context;
    this.options = context.options;
    this.logger = context.logger;
    this.issuer = context.identity.issuer;
    this.publicKey = context.identity.publicKey;
    this.dispatcher = createTrackerDispatcher(context);
    this.admission = new Admission(this.options);
    const info = server.address() as AddressInfo;
    this.address = { host: info.address, port: info.port };
    server.on("secureConnection", (socket) => this.accept(socket));
    server.on("tlsClientError", (error, socket) =>
      this.logger.debug({ err: error, remote: socket.remoteAddress }, "TLS handshake failed"),
    );
    server.on("error", (error) => this.logger.error({ err: error }, "tracker server error"));
    this.logger.info({ address: this.address, issuer: this.issuer, fingerprint }, "tracker listening");
  }

  /** Connections served at once: the option, lowered when it did not fit under the open-file limit. */
  get maxConnections(): number {
    return this.options.maxConnections;
  }

  /** Bytes held in lines not ended yet by connections not signed in as a user, and how many hold some. */
  /** What the relay carried and refused since start; undefined when it does not relay. */
  relayStats(): RelayStats | undefined {
    return this.context.relay?.stats();
  }

  partialLines(): { bytes: number; connections: number } {
    return { bytes: this.admission.lineBudget.heldBytes, connections: this.admission.lineBudget.holders };
  }

  /** Closes the listener, every connection and the store; waits for running handlers first. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const drained = this.context.drain();
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.context.state.allSessions()) session.connection.destroy();
    for (const connection of this.refused) connection.destroy();
    this.context.relay?.close();
    await drained;
    await listenerClosed;
    this.context.store.close();
    this.logger.info("tracker closed");
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.options.keepAliveMs);
    const connectionOptions = { maxFrameBytes: this.options.maxFrameBytes };
    const remoteAddress = plainAddress(socket.remoteAddress ?? "unknown");
    // Relayed streams hold sockets too (detached from their connections): they count here.
    const relaySockets = this.context.relay?.openSockets ?? 0;
    if (this.context.state.connections + relaySockets >= this.options.maxConnections) {
      this.refuse(socket, `the tracker serves at most ${this.options.maxConnections} connections`);
      return;
    }
    if (!this.admission.admits(remoteAddress)) {
      this.refuse(
        socket,
        `the tracker serves at most ${this.options.maxConnectionsPerAddress} connections not signed in as a user from one address`,
      );
      return;
    }
    const watch = new ConnectionWatch(this.options, (code, message) => {
      this.logger.debug({ remote: remoteAddress, code }, message);
      connection.replyError(null, wireError(code, message));
      connection.close();
    });
    const connection = new Connection(
      socket,
      {
        onRequest: (frame) => {
          this.context.countRequest(frame.command);
          this.dispatcher.dispatch(session, connection, frame);
          // Heartbeats alone do not keep a link that is not a user's open.
          if (frame.command !== "PING") watch.active();
        },
        onClose: () => {
          watch.stop();
          admitted.leave();
          this.forget(session);
        },
      },
      { ...connectionOptions, heartbeatIntervalMs: this.options.heartbeatIntervalMs },
    );
    const admitted = this.admission.enter(connection, { address: remoteAddress });
    const session = new PeerConnection(connection, remoteAddress, (changed) => {
      const standing = standingOf(changed);
      watch.update(standing);
      admitted.trust(standing === "user");
    });
    this.context.state.add(session);
  }

  /** Answers `TOO_MANY_CONNECTIONS` (with `id: null`) on a connection over a limit, and closes it. */
  private refuse(socket: Socket, message: string): void {
    const connection = new Connection(
      socket,
      { onClose: (closed) => this.refused.delete(closed) },
      { maxFrameBytes: this.options.preAuthMaxFrameBytes, heartbeatIntervalMs: 0 },
    );
    this.refused.add(connection);
    connection.replyError(null, wireError("TOO_MANY_CONNECTIONS", message));
    connection.close();
  }

  /** A connection closed: it is no longer online, and the channels it kept alive go offline. */
  private forget(session: PeerConnection): void {
    this.context.unsubscribeRevocations(session);
    for (const link of this.context.state.remove(session)) {
      this.context.broadcastChannel(link.name);
    }
  }
}
