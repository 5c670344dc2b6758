import type { KeyObject } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import type { Server } from "node:tls";
import { loadOrCreateIdentity } from "../auth/keys.js";
import { Connection } from "../protocol/connection.js";
import type { Dispatcher } from "../protocol/dispatcher.js";
import { wireError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";
import {
  loadOrCreateTlsIdentity,
  loadTlsIdentityFiles,
  type TlsIdentity,
} from "../transport/tls-identity.js";
import { createTlsServer } from "../transport/tls-server.js";
import { createLogger, type Logger } from "../util/logger.js";
import { plainAddress } from "./access.js";
import { TrackerContext } from "./context.js";
import { createTrackerDispatcher } from "./dispatcher.js";
import { type ResolvedTrackerOptions, resolveTrackerOptions, type TrackerOptions } from "./options.js";
import { PeerConnection } from "./peer-connection.js";
import { SqliteTrackerStore, TRACKER_DB_FILE } from "./sqlite-store.js";
import { OnlineState } from "./state.js";

/** Sockets still in their TLS handshake beyond `maxConnections` (kept so the refusal can be told). */
const HANDSHAKE_SLACK = 1_000;

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
  private closing: Promise<void> | undefined;

  /** Opens the store, loads or creates the key pair and resolves once the tracker is listening. */
  static async start(options: TrackerOptions): Promise<TrackerServer> {
    const resolved = resolveTrackerOptions(options);
    mkdirSync(resolved.dataDir, { recursive: true, mode: 0o700 });
    const identity = loadOrCreateIdentity(resolved.dataDir);
    const logger = options.logger ?? createLogger({ name: "tracker" });
    const store = options.store ?? new SqliteTrackerStore(join(resolved.dataDir, TRACKER_DB_FILE));
    let server: Server;
    let tls: TlsIdentity;
    try {
      tls = await trackerTlsIdentity(resolved);
      server = createTlsServer({
        identity: tls,
        dataDir: resolved.dataDir,
        maxSockets: resolved.maxConnections + HANDSHAKE_SLACK,
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
    const info = server.address() as AddressInfo;
    this.address = { host: info.address, port: info.port };
    server.on("secureConnection", (socket) => this.accept(socket));
    server.on("tlsClientError", (error, socket) =>
      this.logger.debug({ err: error, remote: socket.remoteAddress }, "TLS handshake failed"),
    );
    server.on("error", (error) => this.logger.error({ err: error }, "tracker server error"));
    this.logger.info({ address: this.address, issuer: this.issuer, fingerprint }, "tracker listening");
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
    if (this.context.state.connections >= this.options.maxConnections) {
      const connection = new Connection(
        socket,
        { onClose: (closed) => this.refused.delete(closed) },
        { ...connectionOptions, heartbeatIntervalMs: 0 },
      );
      this.refused.add(connection);
      connection.replyError(
        null,
        wireError(
          "TOO_MANY_CONNECTIONS",
          `the tracker serves at most ${this.options.maxConnections} connections`,
        ),
      );
      connection.close();
      return;
    }
    const idleMs = this.options.unauthenticatedIdleMs;
    // Restarted by every request but PING while not signed in, so heartbeats alone do not keep an
    // anonymous link open.
    const idleTimer =
      idleMs > 0
        ? setTimeout(() => {
            if (session.signedIn) return;
            this.logger.debug(
              { remote: session.remoteAddress },
              "closing idle connection that is not signed in",
            );
            connection.close();
          }, idleMs)
        : undefined;
    const connection = new Connection(
      socket,
      {
        onRequest: (frame) => {
          this.context.countRequest(frame.command);
          this.dispatcher.dispatch(session, connection, frame);
          // While signed in the timer may run out harmlessly; after a SIGNOUT (answered by now)
          // this re-arms it, so a signed-out connection is closed once idle like any other.
          if (idleTimer !== undefined && frame.command !== "PING" && !session.signedIn) idleTimer.refresh();
        },
        onClose: () => {
          clearTimeout(idleTimer);
          this.forget(session);
        },
      },
      { ...connectionOptions, heartbeatIntervalMs: this.options.heartbeatIntervalMs },
    );
    const session = new PeerConnection(connection, plainAddress(socket.remoteAddress ?? "unknown"));
    this.context.state.add(session);
  }

  /** A connection closed: it is no longer online, and the channels it kept alive go offline. */
  private forget(session: PeerConnection): void {
    this.context.unsubscribeRevocations(session);
    for (const link of this.context.state.remove(session)) {
      this.context.broadcastChannel(link.name);
    }
  }
}
