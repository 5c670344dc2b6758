/**
 * The publisher: one socket (the channel owner's, or a baseline client) that sends MESSAGE
 * requests with a window of them in flight, each 100-byte text starting with its send time.
 */
import type { Socket } from "node:net";
import { LineFramer } from "../../src/protocol/framer.js";
import { encodeRequest } from "../../src/protocol/frames.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { withDeadline } from "../lib/deadline.js";
import { benchMsgId, benchText } from "../lib/message-format.js";
import { type Address, openSocket } from "../lib/wire.js";

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
  ticket?: string;
}): Promise<{ joinedMs: number }> {
  const startedUs = nowUs();
  channel = args.channel;
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
  const joined = new Promise<void>((resolve, reject) => {
    onResponse = (line) => {
      onResponse = undefined;
      if (line.includes('"status":"OK"')) resolve();
      else reject(new Error(`publisher was refused: ${line.slice(0, 300)}`));
    };
    onClosed = () => reject(new Error("publisher socket closed while joining"));
  });
  opened.write(encodeRequest("join", "CONNECT", { channel, ticket: args.ticket ?? "-" }));
  try {
    await withDeadline(joined, 30_000, "publisher CONNECT");
  } finally {
    onResponse = undefined;
    onClosed = undefined;
  }
  return { joinedMs: (nowUs() - startedUs) / 1000 };
}

async function publish(args: PublishRun): Promise<PublishOutcome> {
  const target = socket;
  if (target === undefined) throw new Error("publisher is not set up");
  const errors: string[] = [];
  let sent = 0;
  let acked = 0;
  let lastAckUs = 0;
  const sendOne = (): void => {
    const position = sent;
    sent += 1;
    const sendUs = nowUs();
    const body = {
      channel,
      msgId: benchMsgId(args.runTag, position, sendUs),
      text: benchText(sendUs, args.textBytes),
    };
    target.write(encodeRequest(`m${position}`, "MESSAGE", body));
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
