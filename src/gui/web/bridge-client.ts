import type { PeerEvent } from "../../api/index.js";
import {
  BRIDGE_PATH,
  type BridgeMethod,
  type MethodParams,
  type MethodResult,
  methodParamsSchemas,
  parseServerMessage,
  type Snapshot,
} from "../messages.js";
import type { ConnectionStatus } from "./state.js";

export interface BridgeClientOptions {
  /** How long a request waits for its reply before failing with TIMEOUT (default 20 s). */
  requestTimeoutMs?: number;
  /** Pause between attempts to reach the peer again after the socket closed (default 1 s). */
  reconnectDelayMs?: number;
}

export interface BridgeClientHandlers {
  onStatus(status: ConnectionStatus): void;
  onSnapshot(snapshot: Snapshot): void;
  onEvent(event: PeerEvent): void;
}

/** A failed request, with the code from the peer, the bridge, or this page (TIMEOUT, CONNECTION_CLOSED). */
export class BridgeCallError extends Error {
  override name = "BridgeCallError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: BridgeCallError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The page's end of the bridge: one WebSocket to the peer (the access cookie authenticates it),
 * requests with timeouts, and a reconnect after the socket closes. Every pending request
 * settles: on its reply, its timeout, or the socket closing.
 */
export class BridgeClient {
  private readonly requestTimeoutMs: number;
  private readonly reconnectDelayMs: number;
  private readonly pending = new Map<number, Pending>();
  private socket: WebSocket | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: BridgeClientHandlers,
    options: BridgeClientOptions = {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  }

  /** The bridge address of the page's own server. */
  static urlFor(location: Location): string {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${BRIDGE_PATH}`;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.socket?.close(1000);
    this.socket = undefined;
    this.rejectAll("CONNECTION_CLOSED", "the page closed its connection to the peer");
  }

  call<M extends BridgeMethod>(method: M, params: MethodParams<M>): Promise<MethodResult<M>> {
    const checked = methodParamsSchemas[method].safeParse(params);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const field = issue === undefined ? "" : `${issue.path.join(".")}: `;
      return Promise.reject(
        new BridgeCallError("BAD_REQUEST", `${field}${issue?.message ?? "invalid input"}`),
      );
    }
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new BridgeCallError("CONNECTION_CLOSED", "not connected to your peer"));
    }
    const id = this.nextId++;
    return new Promise<MethodResult<M>>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.settle(
            id,
            new BridgeCallError("TIMEOUT", `${method} got no answer within ${this.requestTimeoutMs} ms`),
          ),
        this.requestTimeoutMs,
      );
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ id, method, params }));
    });
  }

  private settle(id: number, outcome: { result: unknown } | BridgeCallError): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (outcome instanceof BridgeCallError) entry.reject(outcome);
    else entry.resolve(outcome.result);
  }

  private rejectAll(code: string, message: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, new BridgeCallError(code, message));
  }

  private connect(): void {
    this.handlers.onStatus("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket === socket) this.handlers.onStatus("open");
    });
    socket.addEventListener("message", (message) => {
      if (this.socket === socket && typeof message.data === "string") this.onMessage(message.data);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.rejectAll("CONNECTION_CLOSED", "the connection to your peer closed");
      this.handlers.onStatus("closed");
      if (!this.stopped) this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelayMs);
    });
  }

  private onMessage(data: string): void {
    const message = parseServerMessage(data);
    if (message === null) return;
    if ("snapshot" in message) this.handlers.onSnapshot(message.snapshot);
    else if ("event" in message) this.handlers.onEvent(message.event);
    else if (typeof message.id === "number") {
      this.settle(
        message.id,
        message.ok
          ? { result: message.result }
          : new BridgeCallError(message.error.code, message.error.message),
      );
    }
  }
}
