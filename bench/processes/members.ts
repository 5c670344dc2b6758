/**
 * The load process: holds N member sockets on one channel (a hychat host, or the baseline server),
 * each joined as a hychat member joins (`HELLO`, then `CONNECT` with a ticket and the proof of
 * possession of its key over the connection's challenge), reads every broadcast, checks that each
 * member gets each message of a run exactly once and in order, and records when each member got
 * each message. The latency is that receipt time less the time the publisher wrote the message,
 * which the publisher reports after the run (its messages are signed before the clock starts, so
 * the time they carry is when they were signed, not sent). With `relay`, each member reaches the
 * host through the tracker's relay and runs its TLS to the host inside the relayed stream.
 */
import type { Socket } from "node:net";
import { DeviceKey } from "../../src/auth/device-key.js";
import { LineFramer } from "../../src/protocol/framer.js";
import { encodeRequest } from "../../src/protocol/frames.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { type Credentials, signInAsGuest } from "../lib/credentials.js";
import { withDeadline } from "../lib/deadline.js";
import { digitsAt, runMarker, SEQ_KEY } from "../lib/message-format.js";
import { Histogram, type SerializedHistogram } from "../lib/stats.js";
import {
  type Address,
  challengeOfLine,
  helloLine,
  openRelayedSocket,
  openSocket,
  pipelined,
  prove,
  type RelayDial,
  socketFingerprint,
  WireClient,
} from "../lib/wire.js";

export interface MembersSetup {
  /**
   * `hychat`: CONNECT with a guest ticket from the tracker and its key's proof; `baseline`: the same
   * lines (HELLO, CONNECT with a proof by a key of its own), no ticket.
   */
  mode: "hychat" | "baseline";
  target: Address;
  tracker?: Address;
  channel: string;
  count: number;
  /** `guest`: sign in on the target (a tracker) with GUEST, a fresh key and its proof, instead of CONNECT. */
  handshake?: "guest";
  /**
   * Reach the host through the tracker's relay (`RELAY_DIAL` with each member's guest ticket) instead
   * of dialing `target`, the host presenting `hostFingerprint` inside (hychat mode only).
   */
  relay?: { hostFingerprint: string };
}

/** When the publisher wrote each message of the run (`PublishOutcome`'s times). */
export interface RunSends {
  firstSendUs: number;
  /** Microseconds after `firstSendUs`, by position. */
  sendOffsetsUs: number[];
}

export interface RunOutcome {
  complete: boolean;
  deliveries: number;
  /** When the last member received the last message (monotonic microseconds). */
  lastReceiptUs: number;
  latency: SerializedHistogram;
  errors: string[];
}

/** Sockets opened at once while joining, below the listen backlog of any Node server. */
const JOIN_CONCURRENCY = 64;
/** Relayed joins at once: under the 64 dial-backs a host makes at once (more are not answered). */
const RELAYED_JOIN_CONCURRENCY = 32;
const GUEST_WINDOW = 64;
/** Errors kept per run; the count of all of them is reported too. */
const MAX_ERRORS_KEPT = 10;

interface Run {
  markerBytes: Buffer;
  messages: number;
  /** When member `m` first got message `p`, at `m * messages + p` (0: not yet). */
  receipts: Float64Array;
  deliveries: number;
  completed: number;
  lastReceiptUs: number;
  errors: string[];
  errorCount: number;
  done: () => void;
  finished: Promise<void>;
}

let run: Run | undefined;
const members: Member[] = [];

function recordError(target: Run, text: string): void {
  target.errorCount += 1;
  if (target.errors.length < MAX_ERRORS_KEPT) target.errors.push(text);
}

const NEWLINE = 0x0a;
const SEQ_MARK = Buffer.from(SEQ_KEY);

/** Where `"seq":` starts in the line around `at` (searched back, then forward, to the line's ends), or -1. */
function seqKeyAround(bytes: Buffer, at: number): number {
  const first = SEQ_MARK[0] as number;
  const matches = (index: number): boolean => {
    for (let offset = 1; offset < SEQ_MARK.length; offset++) {
      if (bytes[index + offset] !== SEQ_MARK[offset]) return false;
    }
    return true;
  };
  for (let index = at; index >= 0 && bytes[index] !== NEWLINE; index--) {
    if (bytes[index] === first && matches(index)) return index;
  }
  for (let index = at; index < bytes.length && bytes[index] !== NEWLINE; index++) {
    if (bytes[index] === first && matches(index)) return index;
  }
  return -1;
}

function markerAt(bytes: Buffer, at: number, marker: Buffer): boolean {
  if (at + marker.length > bytes.length) return false;
  for (let offset = 0; offset < marker.length; offset++) {
    if (bytes[at + offset] !== marker[offset]) return false;
  }
  return true;
}

/**
 * One member socket. Once joined it does not split lines: it searches the received bytes for the
 * run's msgId marker, one native search per delivery, because the load process must cost less
 * per delivery than the servers it measures or it would measure itself.
 */
class Member {
  private next = 0;
  private lastSeq = -1;
  private joined = false;
  /** Bytes after the last newline of the previous chunk. */
  private rest: Buffer | undefined;
  private readonly handshake: LineFramer;
  /** Settles the handshake request in flight with its answer line, or an error. */
  private settleAnswer: ((line: string | Error) => void) | undefined;

  constructor(
    readonly index: number,
    private readonly socket: Socket,
    private readonly checkSeq: boolean,
  ) {
    this.handshake = new LineFramer({
      onLine: (line) => this.onHandshakeLine(line),
      onOversize: () => socket.destroy(new Error("oversized line while joining")),
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => {
      this.settleAnswer?.(new Error(`member ${index} closed while joining`));
      if (run !== undefined && this.next < run.messages) recordError(run, `member ${index} was disconnected`);
    });
    socket.on("error", () => {});
  }

  /**
   * `HELLO`, then the request `joinLine` makes with the connection's challenge and the server's
   * fingerprint (`CONNECT`, or `GUEST`); resolves once it was answered OK.
   */
  async join(joinLine: (challenge: string, fingerprint: string) => string): Promise<void> {
    const challenge = challengeOfLine(await this.exchange(helloLine(`hello-${this.index}`)));
    const answer = await this.exchange(joinLine(challenge, socketFingerprint(this.socket)));
    if (!answer.includes('"status":"OK"'))
      throw new Error(`member ${this.index} was refused: ${answer.slice(0, 300)}`);
    this.joined = true;
  }

  /** Writes one request line; resolves with the next response line. */
  private exchange(line: string): Promise<string> {
    const answered = new Promise<string>((resolve, reject) => {
      this.settleAnswer = (answer) => {
        this.settleAnswer = undefined;
        if (answer instanceof Error) reject(answer);
        else resolve(answer);
      };
    });
    this.socket.write(line);
    return answered;
  }

  arm(): void {
    this.next = 0;
    this.lastSeq = -1;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Sends a `PING`, as a member's own heartbeat would on a quiet link; its answer is ignored. */
  ping(id: number): void {
    if (this.joined && !this.socket.destroyed) {
      this.socket.write(`{"type":"request","id":"keepalive-${id}","command":"PING","body":{}}\n`);
    }
  }

  private onHandshakeLine(line: string): void {
    if (this.joined || !line.includes('"type":"response"')) return;
    // The join answer ends the handshake before any line after it in the same chunk is looked at.
    if (line.includes('"id":"join-')) this.joined = true;
    this.settleAnswer?.(line);
  }

  private onData(chunk: Buffer): void {
    if (!this.joined) {
      // Runs start only after every member joined, so what follows the answer here is no run's.
      this.handshake.push(chunk);
      return;
    }
    let from = 0;
    if (this.rest !== undefined) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1) {
        this.rest = Buffer.concat([this.rest, chunk]);
        return;
      }
      const head = Buffer.concat([this.rest, chunk.subarray(0, newline + 1)]);
      this.rest = undefined;
      this.scan(head, head.length);
      from = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < from) {
      this.rest = Buffer.from(chunk.subarray(from));
      return;
    }
    this.scan(from === 0 ? chunk : chunk.subarray(from), last + 1 - from);
    if (last + 1 < chunk.length) this.rest = Buffer.from(chunk.subarray(last + 1));
  }

  /** Handles every marker in the whole lines at `bytes[0, end)`. */
  private scan(bytes: Buffer, end: number): void {
    const current = run;
    if (current === undefined) return;
    const marker = current.markerBytes;
    let receivedUs = 0;
    let at = bytes.indexOf(marker);
    // Lines of one run have nearly the same length, so the next marker is usually one stride on.
    let stride = 0;
    while (at !== -1 && at < end) {
      if (receivedUs === 0) receivedUs = nowUs();
      this.onMessage(current, bytes, at, receivedUs);
      const guess = at + stride;
      const next =
        stride > 0 && markerAt(bytes, guess, marker) ? guess : bytes.indexOf(marker, at + marker.length);
      stride = next - at;
      at = next;
    }
  }

  private onMessage(current: Run, bytes: Buffer, at: number, receivedUs: number): void {
    const position = digitsAt(bytes, at + current.markerBytes.length);
    if (position.value < current.messages) {
      const slot = this.index * current.messages + position.value;
      if (current.receipts[slot] === 0) current.receipts[slot] = receivedUs;
    }
    if (this.checkSeq) {
      const seqAt = seqKeyAround(bytes, at);
      const seq = seqAt === -1 ? -1 : digitsAt(bytes, seqAt + SEQ_MARK.length).value;
      if (seq === -1 || (this.lastSeq !== -1 && seq !== this.lastSeq + 1)) {
        recordError(current, `member ${this.index}: seq ${seq} after ${this.lastSeq}`);
      }
      this.lastSeq = seq;
    }
    current.deliveries += 1;
    if (position.value !== this.next) {
      recordError(
        current,
        position.value < this.next
          ? `member ${this.index}: message ${position.value} again (duplicate or out of order)`
          : `member ${this.index}: message ${position.value} while ${this.next} was due (missing)`,
      );
      if (position.value < this.next) return;
    }
    this.next = position.value + 1;
    if (this.next === current.messages) {
      current.completed += 1;
      if (current.completed === members.length) {
        current.lastReceiptUs = receivedUs;
        current.done();
      }
    }
  }
}

/**
 * A guest ticket and its own key for each of `count` members, from one tracker connection, and the
 * certificate the tracker presented on it.
 */
async function guestCredentials(
  tracker: Address,
  count: number,
): Promise<{ credentials: Credentials[]; trackerFingerprint: string }> {
  const client = await WireClient.open(tracker);
  try {
    const credentials: Credentials[] = [];
    await pipelined(count, GUEST_WINDOW, async (index) => {
      credentials[index] = await signInAsGuest(client);
    });
    return { credentials, trackerFingerprint: client.fingerprint };
  } finally {
    await client.close();
  }
}

async function setup(options: MembersSetup): Promise<{ members: number; setupMs: number }> {
  const startedUs = nowUs();
  let credentials: Credentials[] = [];
  let trackerFingerprint = "";
  const { tracker, relay } = options;
  if (options.mode === "hychat" && options.handshake === undefined) {
    if (tracker === undefined) throw new Error("hychat members need the tracker address");
    ({ credentials, trackerFingerprint } = await guestCredentials(tracker, options.count));
  }
  let relayed: Omit<RelayDial, "ticket" | "key"> | undefined;
  if (relay !== undefined) {
    if (options.mode !== "hychat" || tracker === undefined)
      throw new Error("only hychat members with a tracker reach a host through the relay");
    relayed = {
      tracker,
      trackerFingerprint,
      channel: options.channel,
      hostFingerprint: relay.hostFingerprint,
    };
  }
  const concurrency = relay === undefined ? JOIN_CONCURRENCY : RELAYED_JOIN_CONCURRENCY;
  await pipelined(options.count, concurrency, async (index) => {
    const key = credentials[index]?.key ?? DeviceKey.generate();
    const ticket = credentials[index]?.ticket ?? "-";
    const socket =
      relayed === undefined
        ? await openSocket(options.target)
        : await openRelayedSocket({ ...relayed, ticket, key });
    const member = new Member(index, socket, options.mode === "hychat");
    members.push(member);
    const id = `join-${index}`;
    await member.join((challenge, fingerprint) => {
      const link = { challenge, fingerprint };
      if (options.handshake === "guest") {
        return encodeRequest(id, "GUEST", { publicKey: key.publicKey, proof: prove(key, link, "GUEST") });
      }
      const proof = prove(key, link, "CONNECT", options.channel);
      return encodeRequest(id, "CONNECT", { channel: options.channel, ticket, proof });
    });
  });
  return { members: members.length, setupMs: (nowUs() - startedUs) / 1000 };
}

function expect(args: { runTag: string; messages: number }): void {
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  run = {
    markerBytes: Buffer.from(runMarker(args.runTag)),
    messages: args.messages,
    receipts: new Float64Array(members.length * args.messages),
    deliveries: 0,
    completed: 0,
    lastReceiptUs: 0,
    errors: [],
    errorCount: 0,
    done,
    finished,
  };
  for (const member of members) member.arm();
}

/** Each receipt less its message's send time, in microseconds. */
function latencyOf(current: Run, sends: RunSends): Histogram {
  const latency = new Histogram();
  const { receipts, messages } = current;
  const positions = Math.min(messages, sends.sendOffsetsUs.length);
  for (let member = 0; member < members.length; member++) {
    const base = member * messages;
    for (let position = 0; position < positions; position++) {
      const receivedUs = receipts[base + position] as number;
      if (receivedUs !== 0)
        latency.record(receivedUs - (sends.firstSendUs + (sends.sendOffsetsUs[position] as number)));
    }
  }
  return latency;
}

async function wait(args: { timeoutMs: number } & RunSends): Promise<RunOutcome> {
  const current = run;
  if (current === undefined) throw new Error("no run is armed");
  let complete = true;
  try {
    await withDeadline(current.finished, args.timeoutMs, "all deliveries");
  } catch {
    complete = false;
    recordError(
      current,
      `only ${current.completed} of ${members.length} members got all ${current.messages} messages ` +
        `(${current.deliveries} deliveries)`,
    );
  }
  run = undefined;
  if (current.errorCount > current.errors.length) {
    current.errors.push(`... ${current.errorCount - current.errors.length} more errors`);
  }
  return {
    complete: complete && current.errorCount === 0,
    deliveries: current.deliveries,
    lastReceiptUs: current.lastReceiptUs,
    latency: latencyOf(current, args).toJSON(),
    errors: current.errors,
  };
}

/**
 * Members only read, so between runs a host would see them quiet for longer than its heartbeat
 * allows and drop them; a real member's connection answers that. A `PING` now and then keeps them.
 */
const KEEPALIVE_MS = 3_000;
let keepalives = 0;
const keepaliveTimer = setInterval(() => {
  keepalives += 1;
  for (const member of members) member.ping(keepalives);
}, KEEPALIVE_MS);
keepaliveTimer.unref();

const parent = serveParent({
  setup,
  expect,
  wait,
  stats: processStats,
  close: () => {
    clearInterval(keepaliveTimer);
    for (const member of members) member.close();
  },
});
parent.ready({ pid: process.pid });
