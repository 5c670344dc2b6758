/**
 * The baseline: a minimal Node server that does what a chat host must do and nothing more, over
 * TLS 1.3 as hychat's links are (config `{"tls": true}` in argv[2]) or over plain TCP.
 * Every connection's CONNECT line makes it a member; each MESSAGE line is acknowledged and its
 * bytes are written to every member, with every member socket corked for the whole input chunk
 * (one writev per member per batch). For the history and directory figures it also answers
 * CACHE, CONNECT `since`, HISTORY and LIST (in pages of 500, as the tracker's) from plain in-memory arrays. It speaks protocol version
 * 3 as far as its lines go: `HELLO` answers a fresh challenge, and the messages it stores and
 * sends carry the `sentAt`, `sig` and `cert` they came with (a MESSAGE line goes out as it came in),
 * so they are as long as hychat's. It checks no proof, certificate or signature.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { LineFramer } from "../../src/protocol/framer.js";
import { encodeResponse, PROTOCOL_VERSION } from "../../src/protocol/frames.js";
import type { ChatMessage } from "../../src/protocol/host-schemas.js";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";
import { loadOrCreateTlsIdentity } from "../../src/transport/tls-identity.js";
import { processStats, serveParent } from "../lib/child.js";

const config = JSON.parse(process.argv[2] ?? "{}") as { tls?: boolean };
const tls = config.tls === true;

const CONNECT_PAGE = 50;
/** Listings in one `LIST` page, as the tracker's most. */
const LIST_PAGE = 500;
const SINCE_PAGE = 500;
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

const members = new Set<Socket>();
const sockets = new Set<Socket>();
const messages: ChatMessage[] = [];
let listings: ChannelListing[] = [];
let corked = false;

function corkMembers(): void {
  if (corked) return;
  corked = true;
  for (const member of members) member.cork();
}

function uncorkMembers(): void {
  if (!corked) return;
  corked = false;
  for (const member of members) member.uncork();
}

function requestId(line: string): string {
  const at = line.indexOf('"id":"');
  if (at === -1) return "unknown";
  return line.slice(at + 6, line.indexOf('"', at + 6));
}

function page(from: number, limit: number): { messages: ChatMessage[]; hasMore: boolean } {
  const start = Math.max(0, from);
  return { messages: messages.slice(start, start + limit), hasMore: start + limit < messages.length };
}

/** The listings after `after` (by name without case; `listings` is kept in that order), and the next page's `after`. */
function listPage(
  after: string | undefined,
  limit: number,
): { channels: ChannelListing[]; next: string | null } {
  const size = Math.min(Math.max(1, limit), LIST_PAGE);
  let start = 0;
  if (after !== undefined) {
    const key = after.toLowerCase();
    let end = listings.length;
    while (start < end) {
      const middle = (start + end) >>> 1;
      if ((listings[middle] as ChannelListing).name.toLowerCase() <= key) start = middle + 1;
      else end = middle;
    }
  }
  const channels = listings.slice(start, start + size);
  return { channels, next: start + size < listings.length ? (channels.at(-1)?.name ?? null) : null };
}

function answer(socket: Socket, line: string): void {
  const frame = JSON.parse(line) as { id: string; command: string; body: Record<string, unknown> };
  const body = frame.body;
  let reply: object;
  switch (frame.command) {
    case "HELLO":
      reply = { version: PROTOCOL_VERSION, server: "host", challenge: randomBytes(32).toString("base64url") };
      break;
    case "CONNECT": {
      members.add(socket);
      if (corked) socket.cork();
      const since = typeof body.since === "number" ? body.since : undefined;
      const history =
        since === undefined ? page(messages.length - CONNECT_PAGE, CONNECT_PAGE) : page(since, SINCE_PAGE);
      reply = {
        channel: body.channel,
        owner: "baseline",
        view: "public",
        moderated: false,
        role: "guest",
        members: [],
        history: history.messages,
        latestSeq: messages.length,
        hasMore: since === undefined ? messages.length > CONNECT_PAGE : history.hasMore,
      };
      break;
    }
    case "CACHE": {
      const ts = new Date().toISOString();
      const incoming = body.messages as {
        msgId: string;
        text: string;
        sentAt?: string;
        sig?: string;
        cert?: string;
      }[];
      const results = incoming.map((message) => {
        const stored: ChatMessage = {
          channel: String(body.channel),
          seq: messages.length + 1,
          msgId: message.msgId,
          from: "baseline",
          text: message.text,
          ts,
          sentAt: message.sentAt ?? null,
          sig: message.sig ?? null,
          cert: message.cert ?? null,
        };
        messages.push(stored);
        return { msgId: stored.msgId, seq: stored.seq, ts, duplicate: false };
      });
      reply = { results };
      break;
    }
    case "HISTORY":
      reply = page(Number(body.after ?? 0), Number(body.limit ?? CONNECT_PAGE));
      break;
    case "LIST":
      reply = listPage(
        typeof body.after === "string" ? body.after : undefined,
        Number(body.limit ?? LIST_PAGE),
      );
      break;
    default:
      reply = {};
  }
  socket.write(encodeResponse(frame.id, "OK", reply));
}

function onLine(socket: Socket, line: string): void {
  if (!line.includes('"command":"MESSAGE"')) {
    answer(socket, line);
    return;
  }
  corkMembers();
  socket.write(encodeResponse(requestId(line), "OK", {}));
  const bytes = Buffer.from(`${line}\n`);
  for (const member of members) member.write(bytes);
}

function serve(socket: Socket): void {
  sockets.add(socket);
  const framer = new LineFramer(
    { onLine: (line) => onLine(socket, line), onOversize: () => socket.destroy() },
    MAX_FRAME_BYTES,
  );
  socket.on("data", (chunk: Buffer) => {
    framer.push(chunk);
    uncorkMembers();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    sockets.delete(socket);
    members.delete(socket);
  });
}

// The same TLS library calls and key type as hychat's servers, so the two differ only in what they do.
const identity = tls
  ? await loadOrCreateTlsIdentity(mkdtempSync(join(tmpdir(), "hychat-bench-baseline-")), "baseline")
  : undefined;
const server =
  identity === undefined
    ? createServer({ noDelay: true }, serve)
    : createTlsServer({ key: identity.key, cert: identity.cert, minVersion: "TLSv1.3" }, (socket) => {
        socket.setNoDelay(true);
        serve(socket);
      });

function fillListings(args: { count: number }): { listings: number } {
  listings = Array.from({ length: args.count }, (_, index) => ({
    name: `bench-channel-${index}`,
    owner: `bench-owner-${index % 4}`,
    view: "public" as const,
    moderated: false,
    online: true,
    address: { host: "127.0.0.1", port: 40_000 + (index % 1000) },
    fingerprint: `sha256:${"be".repeat(32)}`,
    members: 0,
    reach: "direct" as const,
  }));
  // In the tracker's order, so a page starts where a binary search for its `after` ends.
  listings.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
  return { listings: listings.length };
}

const parent = serveParent({
  stats: () => ({ ...processStats(), connections: sockets.size, members: members.size }),
  fillListings,
  close: () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
});

server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  parent.ready({ address: { host: "127.0.0.1", port: address.port, ...(tls ? {} : { plain: true }) } });
});
