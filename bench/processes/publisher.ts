/**
 * The publisher: one socket (the channel owner's, or a baseline client) that sends MESSAGE
 * requests with a window of them in flight. Every message is signed with the owner's key and
 * ticket (the baseline client's too: its messages are the same bytes to write, though nothing
 * checks them), but before the clock starts: `prepare` signs and encodes a run's messages into one
 * buffer of ready-to-write request lines, and `publish` only writes them. In real use each member
 * signs their own messages on their own machine, so the signing cost is spread over many senders
 * and is no part of a server's path; one publisher signing for the whole run would measure itself
 * (the `signatures` scenario reports what signing costs). `publish` records when each message was
 * written; the members measure their latency from those times, not from the time in the text,
 * which is when it was signed.
 */
import type { Socket } from "node:net";
import { LineFramer } from "../../src/protocol/framer.js";
import { encodeRequest, encodeResponse } from "../../src/protocol/frames.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import {
  type Credentials,
  fromPortable,
  type PortableCredentials,
  signedMessage,
} from "../lib/credentials.js";
import { withDeadline } from "../lib/deadline.js";
import { benchMsgId, benchText } from "../lib/message-format.js";
import {
  type Address,
  challengeOfLine,
  helloLine,
  openSocket,
  prove,
  socketFingerprint,
} from "../lib/wire.js";

export interface PrepareRun {
  runTag: string;
  messages: number;
  textBytes: number;
}

export interface PreparedRun {
  messages: number;
  /** Bytes of all the request lines. */
  bytes: number;
  /** How long signing and encoding them took (not part of any measured window). */
  signMs: number;
}

export interface PublishRun {
  window: number;
  timeoutMs: number;
}

export interface PublishOutcome {
  firstSendUs: number;
  lastAckUs: number;
  acked: number;
  /** When each message was written, in microseconds after `firstSendUs`, by position. */
  sendOffsetsUs: number[];
  errors: string[];
}

/** A run's request lines, back to back in one buffer; line `i` ends at `ends[i]`. */
interface Prepared {
  lines: Buffer;
  ends: Uint32Array;
}

let socket: Socket | undefined;
let channel = "";
let author: Credentials | undefined;
let prepared: Prepared | undefined;
/** Called with each response line; set while joining and while a run is in progress. */
let onResponse: ((line: string) => void) | undefined;
/** Called if the socket closes; set while joining and while a run is in progress. */
let onClosed: (() => void) | undefined;

/** Longest line taken for a request to this client: a host's `PING` is short, any message far longer. */
const MAX_PING_LINE = 200;

function onLine(line: string): void {
  if (line.includes('"type":"response"')) {
    onResponse?.(line);
    return;
  }
  // A host asks a quiet link for a `PING` and drops it if nothing comes back, as it would a real
  // client's that did not answer: between runs (while others run, or this one signs) it is quiet.
  if (line.length <= MAX_PING_LINE && line.startsWith('{"type":"request"')) {
    const frame = JSON.parse(line) as { id?: unknown; command?: unknown };
    if (frame.command === "PING" && typeof frame.id === "string") {
      socket?.write(encodeResponse(frame.id, "OK", {}));
    }
  }
}

async function setup(args: {
  target: Address;
  channel: string;
  /** Who writes the messages (the channel's owner), on hychat and the baseline alike. */
  author: PortableCredentials;
}): Promise<{ joinedMs: number }> {
  const startedUs = nowUs();
  channel = args.channel;
  const writer = fromPortable(args.author);
  author = writer;
  const opened = await openSocket(args.target);
  socket = opened;
  const framer = new LineFramer({ onLine, onOversize: () => opened.destroy(new Error("oversized line")) });
  opened.on("data", (chunk: Buffer) => {
    // Sends triggered by a chunk of acks leave in one write.
    opened.cork();
    framer.push(chunk);
    opened.uncork();
  });
  opened.on("error", () => {});
  opened.on("close", () => onClosed?.());
  /** Writes one request line; resolves with its answer line. */
  const exchange = (line: string, what: string): Promise<string> => {
    const answered = new Promise<string>((resolve, reject) => {
      onResponse = (answer) => {
        onResponse = undefined;
        resolve(answer);
      };
      onClosed = () => reject(new Error(`publisher socket closed during ${what}`));
    });
    opened.write(line);
    return withDeadline(answered, 30_000, `publisher ${what}`);
  };
  try {
    const challenge = challengeOfLine(await exchange(helloLine("hello"), "HELLO"));
    const proof = prove(
      writer.key,
      { challenge, fingerprint: socketFingerprint(opened) },
      "CONNECT",
      channel,
    );
    const answer = await exchange(
      encodeRequest("join", "CONNECT", { channel, ticket: writer.ticket, proof }),
      "CONNECT",
    );
    if (!answer.includes('"status":"OK"')) throw new Error(`publisher was refused: ${answer.slice(0, 300)}`);
  } finally {
    onResponse = undefined;
    onClosed = undefined;
  }
  return { joinedMs: (nowUs() - startedUs) / 1000 };
}

/** Messages signed between turns of the event loop, so the socket is still read while signing. */
const SIGN_SLICE = 1_000;

/** Signs and encodes `messages` messages of the run `runTag`, each with its own msgId and sentAt. */
async function prepare(args: PrepareRun): Promise<PreparedRun> {
  const writer = author;
  if (writer === undefined) throw new Error("publisher is not set up");
  prepared = undefined;
  const startedUs = nowUs();
  const ends = new Uint32Array(args.messages);
  let lines = Buffer.alloc(0);
  let used = 0;
  for (let position = 0; position < args.messages; position++) {
    if (position > 0 && position % SIGN_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const signUs = nowUs();
    const msgId = benchMsgId(args.runTag, position, signUs);
    const text = benchText(signUs, args.textBytes);
    const signed = signedMessage(writer, channel, msgId, text, new Date().toISOString());
    const line = encodeRequest(`m${position}`, "MESSAGE", { channel, ...signed });
    const length = Buffer.byteLength(line);
    if (used + length > lines.length) {
      // Lines of one run differ only by the digits of their position: the first sizes the buffer.
      const size = position === 0 ? (length + 32) * args.messages : Math.ceil((used + length) * 1.25);
      const grown = Buffer.allocUnsafe(size);
      lines.copy(grown, 0, 0, used);
      lines = grown;
    }
    used += lines.write(line, used);
    ends[position] = used;
  }
  prepared = { lines: lines.subarray(0, used), ends };
  return { messages: args.messages, bytes: used, signMs: (nowUs() - startedUs) / 1000 };
}

/** Writes the prepared run, `window` messages in flight, each next one as an answer comes. */
async function publish(args: PublishRun): Promise<PublishOutcome> {
  const target = socket;
  const run = prepared;
  if (target === undefined) throw new Error("publisher is not set up");
  if (run === undefined) throw new Error("no run is prepared");
  prepared = undefined;
  const messages = run.ends.length;
  const sendUs = new Float64Array(messages);
  const errors: string[] = [];
  let sent = 0;
  let acked = 0;
  let lastAckUs = 0;
  const sendOne = (): void => {
    const position = sent;
    sent += 1;
    sendUs[position] = nowUs();
    target.write(run.lines.subarray(position === 0 ? 0 : run.ends[position - 1], run.ends[position]));
  };
  const finished = new Promise<void>((resolve, reject) => {
    onResponse = (line) => {
      acked += 1;
      lastAckUs = nowUs();
      if (!line.includes('"status":"OK"') && errors.length < 10) errors.push(line.slice(0, 300));
      if (sent < messages) sendOne();
      if (acked === messages) resolve();
    };
    onClosed = () => reject(new Error(`publisher socket closed after ${acked} acks`));
  });
  const firstSendUs = nowUs();
  target.cork();
  while (sent < Math.min(args.window, messages)) sendOne();
  target.uncork();
  try {
    await withDeadline(finished, args.timeoutMs, `acks for ${messages} messages`);
  } catch (error) {
    errors.push(`${(error as Error).message} (${acked} acked)`);
  } finally {
    onResponse = undefined;
    onClosed = undefined;
  }
  const sendOffsetsUs = Array.from(sendUs.subarray(0, sent), (us) => us - firstSendUs);
  return { firstSendUs, lastAckUs, acked, sendOffsetsUs, errors };
}

const parent = serveParent({
  setup,
  prepare,
  publish,
  stats: processStats,
  close: () => socket?.destroy(),
});
parent.ready({ pid: process.pid });
