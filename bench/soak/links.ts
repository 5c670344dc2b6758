import { connect, type TLSSocket } from "node:tls";
import type { ProofPurpose } from "../../src/auth/canonical.js";
import type { DeviceKey } from "../../src/auth/device-key.js";
import { Connection } from "../../src/protocol/connection.js";
import { LineFramer } from "../../src/protocol/framer.js";
import {
  type EventFrame,
  encodeRequest,
  encodeResponse,
  PROTOCOL_VERSION,
} from "../../src/protocol/frames.js";
import { withDeadline } from "../lib/deadline.js";
import { challengeOf, prove, socketFingerprint } from "../lib/wire.js";

/** A server's address (the tracker or the hosting peer). */
export interface Target {
  host: string;
  port: number;
}

const CONNECT_TIMEOUT_MS = 20_000;

/** A TLS 1.3 connection to `target` from `localAddress` (one of 127.0.0.0/8), as hychat links are. */
export async function openTls(target: Target, localAddress: string | undefined): Promise<TLSSocket> {
  const socket = connect({
    host: target.host,
    port: target.port,
    ...(localAddress === undefined ? {} : { localAddress }),
    rejectUnauthorized: false,
    minVersion: "TLSv1.3",
  });
  socket.setNoDelay(true);
  try {
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", () => resolve());
        socket.once("error", reject);
      }),
      CONNECT_TIMEOUT_MS,
      `connect to ${target.host}:${target.port}`,
    );
  } catch (error) {
    socket.destroy();
    throw error;
  }
  // Errors after the handshake end the link through `close`, which every user of a socket waits on.
  socket.on("error", () => {});
  return socket;
}

/**
 * A legitimate client's link: the project's own `Connection` (heartbeats, request timeouts),
 * from a chosen local address, with the events it receives handed to `onEvent`.
 */
export class SoakClient {
  readonly fingerprint: string;
  challenge = "";
  private readonly closedPromise: Promise<void>;

  private constructor(
    private readonly connection: Connection,
    socket: TLSSocket,
    closed: Promise<void>,
  ) {
    this.fingerprint = socketFingerprint(socket);
    this.closedPromise = closed;
  }

  static async open(
    target: Target,
    localAddress: string | undefined,
    onEvent?: (frame: EventFrame) => void,
  ): Promise<SoakClient> {
    const socket = await openTls(target, localAddress);
    let markClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    const connection = new Connection(socket, {
      onEvent: (frame) => onEvent?.(frame),
      onClose: () => markClosed(),
    });
    const client = new SoakClient(connection, socket, closed);
    try {
      client.challenge = challengeOf(await client.request("HELLO", { version: PROTOCOL_VERSION }));
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  get closed(): Promise<void> {
    return this.closedPromise;
  }

  prove(key: DeviceKey, purpose: ProofPurpose, channel?: string): string {
    return prove(key, this, purpose, channel);
  }

  request<T = Record<string, unknown>>(command: string, body: object, timeoutMs = 30_000): Promise<T> {
    return this.connection.request(command, body, { timeoutMs }) as Promise<T>;
  }

  async close(): Promise<void> {
    this.connection.close();
    await withDeadline(this.closedPromise, 10_000, "client close");
  }
}

/** A server's answer as an attacker reads it: `code` is `OK` or the refusal's code. */
export interface Answer {
  ok: boolean;
  code: string;
  body: Record<string, unknown>;
}

/** Longest line an attacker reads (answers and events are far smaller). */
const MAX_LINE_BYTES = 4 * 1024 * 1024;

interface RawFrame {
  type?: unknown;
  id?: unknown;
  status?: unknown;
  command?: unknown;
  body?: Record<string, unknown>;
}

/**
 * An attacker's link: raw lines over TLS from a chosen local address, with no limits of its own,
 * so it can write what no hychat client would (unfinished lines, drips). It notes the code of the
 * last `id: null` refusal, the server's word on why it closes the link.
 */
export class RawLink {
  challenge = "";
  /** The code of the last refusal with `id: null` (TOO_MANY_CONNECTIONS, AUTH_TIMEOUT, ...). */
  refusal: string | undefined;
  readonly closed: Promise<void>;
  readonly fingerprint: string;
  private readonly pending = new Map<string, (answer: Answer | undefined) => void>();
  private nextId = 1;
  private isOpen = true;

  private constructor(
    private readonly socket: TLSSocket,
    answerPings: boolean,
  ) {
    this.fingerprint = socketFingerprint(socket);
    const framer = new LineFramer(
      { onLine: (line) => this.onLine(line, answerPings), onOversize: () => socket.destroy() },
      MAX_LINE_BYTES,
    );
    socket.on("data", (chunk: Buffer) => framer.push(chunk));
    this.closed = new Promise<void>((resolve) => {
      socket.once("close", () => {
        this.isOpen = false;
        for (const settle of this.pending.values()) settle(undefined);
        this.pending.clear();
        resolve();
      });
    });
  }

  /**
   * `answerPings`: answer the server's heartbeats, as a link that means to stay does; one that
   * writes an unfinished line cannot.
   */
  static async open(target: Target, localAddress: string, answerPings: boolean): Promise<RawLink> {
    return new RawLink(await openTls(target, localAddress), answerPings);
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** `HELLO`; true when it was answered (the server admitted the link), with the challenge kept. */
  async hello(): Promise<boolean> {
    const answer = await this.request("HELLO", { version: PROTOCOL_VERSION });
    if (answer?.ok !== true) return false;
    this.challenge = challengeOf(answer.body);
    return true;
  }

  prove(key: DeviceKey, purpose: ProofPurpose, channel?: string): string {
    return prove(key, this, purpose, channel);
  }

  /** Sends a request; resolves with its answer, or undefined when the link closed first. */
  request(command: string, body: object): Promise<Answer | undefined> {
    if (!this.isOpen) return Promise.resolve(undefined);
    const id = String(this.nextId++);
    const answered = new Promise<Answer | undefined>((resolve) => this.pending.set(id, resolve));
    this.socket.write(encodeRequest(id, command, body));
    return answered;
  }

  /** Writes bytes as they are: a piece of a line, or lines prepared beforehand. */
  write(text: string): void {
    if (this.isOpen) this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onLine(line: string, answerPings: boolean): void {
    let frame: RawFrame;
    try {
      frame = JSON.parse(line) as RawFrame;
    } catch {
      return;
    }
    if (frame.type === "response") {
      const body = frame.body ?? {};
      const ok = frame.status === "OK";
      const answer: Answer = { ok, code: ok ? "OK" : String(body.code ?? frame.status), body };
      if (frame.id === null) {
        this.refusal = answer.code;
        return;
      }
      const settle = this.pending.get(String(frame.id));
      this.pending.delete(String(frame.id));
      settle?.(answer);
      return;
    }
    if (answerPings && frame.type === "request" && frame.command === "PING" && typeof frame.id === "string") {
      this.socket.write(encodeResponse(frame.id, "OK", { time: new Date().toISOString() }));
    }
  }
}
