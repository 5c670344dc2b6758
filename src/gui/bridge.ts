import type { WebSocket } from "ws";
import type { z } from "zod";
import type { PeerApi, PeerEvent } from "../api/index.js";
import type { Logger } from "../util/logger.js";
import { silentLogger } from "../util/logger.js";
import {
  type BridgeErrorCode,
  type BridgeMethod,
  type ChannelSnapshot,
  clientRequestSchema,
  type ErrorInfo,
  isBridgeMethod,
  type MethodResult,
  methodParamsSchemas,
  type RequestId,
  type ServerMessage,
  type Snapshot,
} from "./messages.js";

export interface BridgeOptions {
  /** Requests one page may have waiting on the peer at once (default 64). */
  maxInFlight?: number;
  /** Bytes that may wait in a page's send buffer before it counts as not reading and is dropped (default 8 MiB). */
  maxBufferedBytes?: number;
  /** How long the snapshot waits for the directory and for each channel's recent history (default 3 s). */
  snapshotTimeoutMs?: number;
  /** Recent messages per joined channel in the snapshot (default 50). */
  snapshotHistoryLimit?: number;
  logger?: Logger;
}

export const DEFAULT_BRIDGE_OPTIONS: Required<Omit<BridgeOptions, "logger">> = {
  maxInFlight: 64,
  maxBufferedBytes: 8 * 1024 * 1024,
  snapshotTimeoutMs: 3_000,
  snapshotHistoryLimit: 50,
};

type Params<M extends BridgeMethod> = z.output<(typeof methodParamsSchemas)[M]>;
type Invoker<M extends BridgeMethod> = (peer: PeerApi, params: Params<M>) => unknown;

/** How each whitelisted method maps its named parameters onto the PeerApi call. */
const invokers: { [M in BridgeMethod]: Invoker<M> } = {
  signUp: (peer, p) => peer.signUp(p.username, p.password),
  signIn: (peer, p) => peer.signIn(p.username, p.password),
  guest: (peer, p) => peer.guest(p.name),
  signOut: (peer) => peer.signOut(),
  listChannels: (peer) => peer.listChannels(),
  onlineUsers: (peer) => peer.onlineUsers(),
  setInvisible: (peer, p) => peer.setInvisible(p.invisible),
  host: (peer, p) => peer.host(p.channel, { view: p.view, moderated: p.moderated }),
  unhost: (peer, p) => peer.unhost(p.channel),
  hostedChannels: (peer) => peer.hostedChannels(),
  join: (peer, p) => peer.join(p.channel),
  leave: (peer, p) => peer.leave(p.channel),
  joinedChannels: (peer) => peer.joinedChannels(),
  markRead: (peer, p) => peer.markRead(p.channel),
  send: (peer, p) => peer.send(p.channel, p.text),
  outbox: (peer, p) => peer.outbox(p.channel),
  cancelPending: (peer, p) => peer.cancelPending(p.msgId),
  history: (peer, p) => peer.history(p.channel, { before: p.before, limit: p.limit }),
  members: (peer, p) => peer.members(p.channel),
  setView: (peer, p) => peer.setView(p.channel, p.view, p.moderated),
  authorize: (peer, p) => peer.authorize(p.channel, p.username, p.grant),
  channelInfo: (peer, p) => peer.channelInfo(p.channel),
  debugInfo: (peer) => peer.debugInfo(),
};

/** The readable form of anything a peer call threw: its wire or local code when it has one. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === "string" ? code : "INTERNAL_ERROR", message: error.message };
  }
  return { code: "INTERNAL_ERROR", message: String(error) };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One page's WebSocket session: sends a snapshot, then forwards the peer's events and answers
 * requests. Nothing the page sends can crash it; closing the socket unsubscribes from the peer.
 */
export class BridgeSession {
  private readonly options: Required<Omit<BridgeOptions, "logger">>;
  private readonly logger: Logger;
  private readonly unsubscribe: () => void;
  /** Messages held back until the snapshot has gone out, so the page sees them in order. */
  private held: ServerMessage[] | undefined = [];
  private inFlight = 0;
  private isClosed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly peer: PeerApi,
    options: BridgeOptions = {},
  ) {
    const { logger, ...limits } = options;
    this.options = { ...DEFAULT_BRIDGE_OPTIONS, ...limits };
    this.logger = logger ?? silentLogger;
    this.unsubscribe = peer.subscribe((event) => this.onEvent(event));
    socket.on("message", (data, isBinary) => this.onMessage(data.toString(), isBinary));
    socket.on("close", () => this.dispose());
    socket.on("error", (error) => this.logger.debug({ err: error }, "gui socket error"));
    void this.sendSnapshot();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Closes the page's socket; `terminate` drops it without a closing handshake. */
  close(terminate = false): void {
    if (terminate) this.socket.terminate();
    else this.socket.close(1001, "server closing");
    this.dispose();
  }

  private dispose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.held = undefined;
    this.unsubscribe();
  }

  private onEvent(event: PeerEvent): void {
    this.send({ event });
  }

  private send(message: ServerMessage): void {
    if (this.isClosed) return;
    if (this.held !== undefined) {
      this.held.push(message);
      return;
    }
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.logger.warn({ buffered: this.socket.bufferedAmount }, "gui page is not reading; dropping it");
      this.close(true);
      return;
    }
    this.socket.send(JSON.stringify(message));
  }

  private async sendSnapshot(): Promise<void> {
    let snapshot: Snapshot;
    try {
      snapshot = await this.buildSnapshot();
    } catch (error) {
      this.logger.warn({ err: error }, "gui snapshot failed");
      snapshot = { identity: this.peer.identity, directory: [], joined: [], hosted: [], outbox: [] };
    }
    const held = this.held ?? [];
    this.held = undefined;
    this.send({ snapshot });
    for (const message of held) this.send(message);
  }

  private async buildSnapshot(): Promise<Snapshot> {
    const { snapshotTimeoutMs, snapshotHistoryLimit } = this.options;
    const directory = withTimeout(this.peer.listChannels(), snapshotTimeoutMs, "directory").catch((error) => {
      this.logger.debug({ err: error }, "gui snapshot without directory");
      return [];
    });
    const joined = Promise.all(
      this.peer.joinedChannels().map(async (channel): Promise<ChannelSnapshot> => {
        // Only a reachable host can answer; others start empty and page back once they are online.
        if (channel.state !== "online" || channel.latestSeq === 0) {
          return { channel, history: [], hasMore: channel.latestSeq > 0 };
        }
        try {
          const page = await withTimeout(
            this.peer.history(channel.name, { before: channel.latestSeq + 1, limit: snapshotHistoryLimit }),
            snapshotTimeoutMs,
            `history of ${channel.name}`,
          );
          return { channel, history: page.messages, hasMore: page.hasMore };
        } catch (error) {
          this.logger.debug({ err: error, channel: channel.name }, "gui snapshot without history");
          return { channel, history: [], hasMore: true };
        }
      }),
    );
    return {
      identity: this.peer.identity,
      directory: await directory,
      joined: await joined,
      hosted: this.peer.hostedChannels(),
      outbox: this.peer.outbox(),
    };
  }

  private replyError(id: RequestId | null, code: BridgeErrorCode | string, message: string): void {
    this.send({ id, ok: false, error: { code, message } });
  }

  private onMessage(data: string, isBinary: boolean): void {
    if (isBinary) {
      this.replyError(null, "BAD_MESSAGE", "messages must be JSON text frames");
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      this.replyError(null, "BAD_MESSAGE", "message is not valid JSON");
      return;
    }
    const envelope = clientRequestSchema.safeParse(value);
    if (!envelope.success) {
      const id = clientRequestSchema.shape.id.safeParse((value as { id?: unknown } | null)?.id);
      this.replyError(id.success ? id.data : null, "BAD_MESSAGE", describeIssues(envelope.error));
      return;
    }
    const { id, method, params } = envelope.data;
    if (!isBridgeMethod(method)) {
      this.replyError(id, "UNKNOWN_METHOD", `unknown method ${JSON.stringify(method)}`);
      return;
    }
    const parsed = methodParamsSchemas[method].safeParse(params ?? {});
    if (!parsed.success) {
      this.replyError(id, "BAD_REQUEST", `${method}: ${describeIssues(parsed.error)}`);
      return;
    }
    if (this.inFlight >= this.options.maxInFlight) {
      this.replyError(id, "TOO_MANY_REQUESTS", `more than ${this.options.maxInFlight} requests are waiting`);
      return;
    }
    void this.invoke(id, method, parsed.data);
  }

  private async invoke<M extends BridgeMethod>(id: RequestId, method: M, params: Params<M>): Promise<void> {
    this.inFlight += 1;
    try {
      const invoker = invokers[method] as Invoker<M>;
      const result = (await invoker(this.peer, params)) as MethodResult<M> | undefined;
      this.send({ id, ok: true, result: result ?? null });
    } catch (error) {
      const info = errorInfo(error);
      if (info.code === "INTERNAL_ERROR") this.logger.warn({ err: error, method }, "gui request failed");
      this.send({ id, ok: false, error: info });
    } finally {
      this.inFlight -= 1;
    }
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}
