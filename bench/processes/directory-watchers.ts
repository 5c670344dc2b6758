/**
 * Signed-in tracker connections as the bench's stand-in for online peers: each sends `HELLO` and
 * then `GUEST` (a key of its own, its proof over the connection's challenge), as a peer does before the tracker pushes it `CHANNELS` events, then only listens. Checks
 * that every connection gets the `CHANNELS` event of an armed channel exactly once, carrying its
 * listing, and when the last one got it; answers the tracker's `PING`s; and on request has every
 * connection list the whole directory once, page after page (the re-LIST storm peers sent for each
 * new channel before the event carried the listing).
 */
import type { Socket } from "node:net";
import { DeviceKey } from "../../src/auth/device-key.js";
import { DEFAULT_MAX_FRAME_BYTES, LineFramer } from "../../src/protocol/framer.js";
import { encodeRequest, encodeResponse, PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { withDeadline } from "../lib/deadline.js";
import { nextOfListLine } from "../lib/directory-pages.js";
import {
  type Address,
  challengeOfLine,
  openSocket,
  pipelined,
  prove,
  socketFingerprint,
} from "../lib/wire.js";

export interface WatchersSetup {
  tracker: Address;
  count: number;
}

export interface WatchOutcome {
  /** Connections that got the channel's event. */
  received: number;
  /** When the last of them got it (monotonic microseconds). */
  lastReceiptUs: number;
  errors: string[];
}

export interface StormOutcome {
  /** Connections that got every page of the directory. */
  answered: number;
  /** `LIST` pages answered, all connections together. */
  pages: number;
  firstSendUs: number;
  lastAnswerUs: number;
  /** Bytes of all `LIST` pages. */
  bytes: number;
  errors: string[];
}

/** Sockets opened at once while signing in, below the listen backlog of any Node server. */
const JOIN_CONCURRENCY = 64;
/** A `LIST` page is under 300 KB: any line is within the protocol's frame limit. */
const MAX_LINE_BYTES = DEFAULT_MAX_FRAME_BYTES;
/** Pages one connection's listing may take before the tracker counts as looping. */
const MAX_PAGES = 1_000;
const MAX_ERRORS_KEPT = 10;
const RESPONSE_HEAD = '{"type":"response","id":"';
const EVENT_HEAD = '{"type":"event","event":"CHANNELS"';
const REQUEST_HEAD = '{"type":"request"';

interface Watch {
  channel: string;
  address: Address;
  received: number;
  lastReceiptUs: number;
  errors: string[];
  errorCount: number;
  done: () => void;
  finished: Promise<void>;
}

let watch: Watch | undefined;
const watchers: Watcher[] = [];

function recordError(errors: string[], text: string): void {
  if (errors.length < MAX_ERRORS_KEPT) errors.push(text);
}

class Watcher {
  private readonly pending = new Map<string, (line: string, receivedUs: number) => void>();
  private nextId = 1;
  /** The armed channel's event was seen on this connection. */
  private seen = false;
  private chunkUs = 0;

  constructor(
    readonly index: number,
    private readonly socket: Socket,
  ) {
    const framer = new LineFramer(
      {
        onLine: (line) => this.onLine(line),
        onOversize: () => socket.destroy(new Error("oversized line")),
      },
      MAX_LINE_BYTES,
    );
    socket.on("data", (chunk: Buffer) => {
      this.chunkUs = nowUs();
      framer.push(chunk);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (watch !== undefined && !this.seen) recordError(watch.errors, `connection ${index} closed`);
      for (const settle of this.pending.values()) settle("closed", nowUs());
      this.pending.clear();
    });
  }

  /** Sends a request; resolves with its answer line (not parsed) and when it arrived. */
  request(command: string, body: object): Promise<{ line: string; receivedUs: number }> {
    const id = `w${this.index}-${this.nextId++}`;
    return new Promise((resolve) => {
      this.pending.set(id, (line, receivedUs) => resolve({ line, receivedUs }));
      this.socket.write(encodeRequest(id, command, body));
    });
  }

  arm(): void {
    this.seen = false;
  }

  close(): void {
    this.socket.destroy();
  }

  private onLine(line: string): void {
    if (line.startsWith(RESPONSE_HEAD)) {
      const id = line.slice(RESPONSE_HEAD.length, line.indexOf('"', RESPONSE_HEAD.length));
      const settle = this.pending.get(id);
      this.pending.delete(id);
      settle?.(line, this.chunkUs);
    } else if (line.startsWith(EVENT_HEAD)) {
      this.onChannels(line);
    } else if (line.startsWith(REQUEST_HEAD)) {
      // The tracker's heartbeat on a quiet link: a peer answers it, or the link is closed.
      const frame = JSON.parse(line) as { id: string; command: string };
      if (frame.command === "PING") this.socket.write(encodeResponse(frame.id, "OK", { time: Date.now() }));
    }
  }

  private onChannels(line: string): void {
    const current = watch;
    if (current === undefined) return;
    const body = (JSON.parse(line) as { body: ChannelsBody }).body;
    if (body.channel !== current.channel) return;
    if (this.seen) {
      current.errorCount += 1;
      recordError(current.errors, `connection ${this.index} got the CHANNELS event of ${body.channel} again`);
      return;
    }
    this.seen = true;
    const listing = body.listing;
    if (listing === undefined || listing === null) {
      current.errorCount += 1;
      recordError(
        current.errors,
        `connection ${this.index}: CHANNELS event without a listing (a peer would LIST)`,
      );
    } else if (
      listing.name !== current.channel ||
      !listing.online ||
      listing.address?.host !== current.address.host ||
      listing.address?.port !== current.address.port
    ) {
      current.errorCount += 1;
      recordError(current.errors, `connection ${this.index}: wrong listing ${JSON.stringify(listing)}`);
    }
    current.received += 1;
    if (this.chunkUs > current.lastReceiptUs) current.lastReceiptUs = this.chunkUs;
    if (current.received === watchers.length) current.done();
  }
}

interface ChannelsBody {
  channel: string;
  listing?: { name: string; online: boolean; address: Address | null } | null;
}

async function setup(options: WatchersSetup): Promise<{ watchers: number; setupMs: number }> {
  const startedUs = nowUs();
  await pipelined(options.count, JOIN_CONCURRENCY, async (index) => {
    const socket = await openSocket(options.tracker);
    const watcher = new Watcher(index, socket);
    const hello = await watcher.request("HELLO", { version: PROTOCOL_VERSION });
    const challenge = challengeOfLine(hello.line);
    const key = DeviceKey.generate();
    const proof = prove(key, { challenge, fingerprint: socketFingerprint(socket) }, "GUEST");
    const guest = await watcher.request("GUEST", { publicKey: key.publicKey, proof });
    if (!guest.line.includes('"status":"OK"'))
      throw new Error(`connection ${index} was refused: ${guest.line.slice(0, 300)}`);
    watchers.push(watcher);
  });
  return { watchers: watchers.length, setupMs: (nowUs() - startedUs) / 1000 };
}

/** Arms the count of `channel`'s CHANNELS event, which must list it online at `address`. */
function expect(args: { channel: string; address: Address }): void {
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  watch = {
    channel: args.channel,
    address: args.address,
    received: 0,
    lastReceiptUs: 0,
    errors: [],
    errorCount: 0,
    done,
    finished,
  };
  for (const watcher of watchers) watcher.arm();
}

async function wait(args: { timeoutMs: number }): Promise<WatchOutcome> {
  const current = watch;
  if (current === undefined) throw new Error("no channel is armed");
  try {
    await withDeadline(current.finished, args.timeoutMs, `CHANNELS event of ${current.channel}`);
  } catch {
    recordError(current.errors, `only ${current.received} of ${watchers.length} connections got the event`);
  }
  watch = undefined;
  if (current.errorCount > current.errors.length)
    current.errors.push(`... ${current.errorCount - current.errors.length} more errors`);
  return { received: current.received, lastReceiptUs: current.lastReceiptUs, errors: current.errors };
}

/**
 * Every connection lists the whole directory once, page after page (`LIST {after}` until `next` is
 * null), `window` connections at a time, each page read whole.
 */
async function listStorm(args: { window: number }): Promise<StormOutcome> {
  const errors: string[] = [];
  let answered = 0;
  let pages = 0;
  let bytes = 0;
  let lastAnswerUs = 0;
  const firstSendUs = nowUs();
  await pipelined(watchers.length, args.window, async (index) => {
    const watcher = watchers[index] as Watcher;
    let after: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await watcher.request("LIST", after === null ? {} : { after });
      // The status follows the id, `next` ends the body; the listings are not parsed (the
      // tracker's cost is what is measured).
      const next = nextOfListLine(answer.line);
      if (!answer.line.slice(0, 200).includes('"status":"OK"') || next === undefined) {
        recordError(errors, `connection ${index}: LIST answered ${answer.line.slice(0, 200)}`);
        return;
      }
      pages += 1;
      bytes += answer.line.length;
      if (answer.receivedUs > lastAnswerUs) lastAnswerUs = answer.receivedUs;
      if (next === null) {
        answered += 1;
        return;
      }
      after = next;
    }
    recordError(errors, `connection ${index}: LIST did not end within ${MAX_PAGES} pages`);
  });
  return { answered, pages, firstSendUs, lastAnswerUs, bytes, errors };
}

const parent = serveParent({
  setup,
  expect,
  wait,
  listStorm,
  stats: processStats,
  close: () => {
    for (const watcher of watchers) watcher.close();
  },
});
parent.ready({ pid: process.pid });
