/**
 * A peer (the real facade, with its on-disk outbox) that queues messages while its channel's
 * host is down and reports when the host has acknowledged all of them. Config: JSON in argv[2].
 */

import type { LinkState, PeerEvent } from "../../src/api/index.js";
import { Peer } from "../../src/peer/peer.js";
import { silentLogger } from "../../src/util/logger.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { withDeadline } from "../lib/deadline.js";
import { benchText } from "../lib/message-format.js";
import type { Address } from "../lib/wire.js";

export interface OutboxPeerConfig {
  tracker: Address;
  dataDir: string;
  account: { username: string; password: string };
  channel: string;
}

export interface DeliveryReport {
  delivered: number;
  /** When the last of the queued messages was acknowledged (monotonic microseconds). */
  lastDeliveredUs: number;
  /** Seqs in the order the messages were queued. */
  seqs: number[];
  errors: string[];
}

const config = JSON.parse(process.argv[2] ?? "{}") as OutboxPeerConfig;
const peer = await Peer.open({ tracker: config.tracker, dataDir: config.dataDir, logger: silentLogger });
await peer.signUp(config.account.username, config.account.password);
await peer.join(config.channel);

/** Position in queue order of every message queued by `queue`, by msgId. */
const positions = new Map<string, number>();
const seqs: number[] = [];
const errors: string[] = [];
let delivered = 0;
let lastDeliveredUs = 0;
let onAllDelivered: (() => void) | undefined;
const linkWaiters = new Set<(state: LinkState) => void>();

peer.subscribe((event: PeerEvent) => {
  if (event.type === "link" && event.channel === config.channel) {
    for (const waiter of linkWaiters) waiter(event.state);
  }
  if (event.type !== "delivered") return;
  const position = positions.get(event.msgId);
  if (position === undefined) return;
  if (seqs[position] !== undefined) {
    if (errors.length < 10) errors.push(`message ${position} was reported delivered twice`);
    return;
  }
  seqs[position] = event.seq;
  delivered += 1;
  lastDeliveredUs = nowUs();
  if (delivered === positions.size) onAllDelivered?.();
});

function linkState(): LinkState | undefined {
  return peer.joinedChannels().find((channel) => channel.name === config.channel)?.state;
}

/** Resolves once the channel's link is in `state`. */
async function waitLink(args: { state: LinkState; timeoutMs: number }): Promise<void> {
  if (linkState() === args.state) return;
  let waiter: ((state: LinkState) => void) | undefined;
  try {
    await withDeadline(
      new Promise<void>((resolve) => {
        waiter = (state) => {
          if (state === args.state) resolve();
        };
        linkWaiters.add(waiter);
      }),
      args.timeoutMs,
      `link to ${config.channel} ${args.state}`,
    );
  } finally {
    if (waiter !== undefined) linkWaiters.delete(waiter);
  }
}

/** Sends `count` messages while the host is down; each must come back `queued`. */
async function queue(args: { count: number; textBytes: number }): Promise<{ queuedMs: number }> {
  const startedUs = nowUs();
  for (let index = 0; index < args.count; index++) {
    const outcome = await peer.send(config.channel, benchText(index, args.textBytes));
    if (outcome.status !== "queued") throw new Error(`message ${index} was ${outcome.status}, not queued`);
    positions.set(outcome.msgId, index);
  }
  return { queuedMs: (nowUs() - startedUs) / 1000 };
}

async function waitDelivered(args: { timeoutMs: number }): Promise<DeliveryReport> {
  if (delivered < positions.size) {
    try {
      await withDeadline(
        new Promise<void>((resolve) => {
          onAllDelivered = resolve;
        }),
        args.timeoutMs,
        "outbox flush",
      );
    } catch (error) {
      errors.push(`${(error as Error).message}: ${delivered} of ${positions.size} delivered`);
    }
  }
  return { delivered, lastDeliveredUs, seqs, errors };
}

const parent = serveParent({
  waitLink,
  queue,
  waitDelivered,
  stats: processStats,
  close: () => peer.close(),
});
parent.ready({ username: config.account.username });
