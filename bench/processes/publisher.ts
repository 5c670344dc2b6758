/**
 * The publisher: one socket (the channel owner's, or a baseline client) that sends MESSAGE
 * requests with a window of them in flight, each 100-byte text starting with its send time. It
 * signs every message as it sends it, as a real client does, with the owner's key and ticket (the
 * baseline client too: its messages have the same size and cost to write, though nothing checks them).
 */
import type { Socket } from "node:net";
import { LineFramer } from "../../src/protocol/framer.js";
import { encodeRequest } from "../../src/protocol/frames.js";
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

export interface PublishRun {
  runTag: string;
  messages: number;
  window: number;
  textBytes: number;
  timeoutMs: number;
}

export interface PublishOutcome {
  firstSendUs: number;
  lastAckUs: number;
  acked: number;
  errors: string[];
}

let socket: Socket | undefined;
let channel = "";
let author: Credentials | undefined;
/** Called with each response line; set while joining and while a run is in progress. */
let onResponse: ((line: string) => void) | undefined;
/** Called if the socket closes; set while joining and while a run is in progress. */
let onClosed: (() => void) | undefined;

function onLine(line: string): void {
  if (line.includes('"type":"response"')) onResponse?.(line);
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

async function publish(args: PublishRun): Promise<PublishOutcome> {
  const target = socket;
  const writer = author;
  if (target === undefined || writer === undefined) throw new Error("publisher is not set up");
  const errors: string[] = [];
  let sent = 0;
  let acked = 0;
  let lastAckUs = 0;
  const sendOne = (): void => {
    const position = sent;
    sent += 1;
    const sendUs = nowUs();
    const msgId = benchMsgId(args.runTag, position, sendUs);
    const text = benchText(sendUs, args.textBytes);
    const signed = signedMessage(writer, channel, msgId, text, new Date().toISOString());
    target.write(encodeRequest(`m${position}`, "MESSAGE", { channel, ...signed }));
  };
  const finished = new Promise<void>((resolve, reject) => {
    onResponse = (line) => {
      acked += 1;
      lastAckUs = nowUs();
      if (!line.includes('"status":"OK"') && errors.length < 10) errors.push(line.slice(0, 300));
      if (sent < args.messages) sendOne();
      if (acked === args.messages) resolve();
    };
    onClosed = () => reject(new Error(`publisher socket closed after ${acked} acks`));
  });
  const firstSendUs = nowUs();
  target.cork();
  while (sent < Math.min(args.window, args.messages)) sendOne();
  target.uncork();
  try {
    await withDeadline(finished, args.timeoutMs, `acks for ${args.messages} messages`);
  } catch (error) {
    errors.push(`${(error as Error).message} (${acked} acked)`);
  } finally {
    onResponse = undefined;
    onClosed = undefined;
  }
  return { firstSendUs, lastAckUs, acked, errors };
}

const parent = serveParent({
  setup,
  publish,
  stats: processStats,
  close: () => socket?.destroy(),
});
parent.ready({ pid: process.pid });
