import type { RunOutcome } from "../processes/members.js";
import type { PublishOutcome } from "../processes/publisher.js";
import type { ProcessStats } from "./child.js";
import { type Credentials, portable } from "./credentials.js";
import { BenchChild } from "./processes.js";
import type { MeasuredServer } from "./shipped-peer.js";
import { holdConnections } from "./stacks.js";
import { Histogram } from "./stats.js";
import type { Address } from "./wire.js";

/**
 * One side of a fan-out comparison: a server (the bare hychat host, the shipped `hychat peer`, or
 * the baseline), its members and publisher.
 */
export interface FanoutSystem {
  /** What the server is, in progress lines and errors. */
  label: string;
  /** The members' protocol: hychat's CONNECT, or the baseline's plain line. */
  kind: "hychat" | "baseline";
  server: MeasuredServer;
  members: BenchChild;
  publisher: BenchChild;
}

export interface FanoutSystemOptions {
  label: string;
  kind: "hychat" | "baseline";
  server: MeasuredServer;
  target: Address;
  tracker?: Address;
  channel: string;
  members: number;
  /**
   * The channel owner's ticket and key, which the publisher joins with and signs every message
   * with: on the baseline too, so its messages are the same size (it checks nothing).
   */
  owner: Credentials;
}

export async function startFanoutSystem(options: FanoutSystemOptions): Promise<FanoutSystem> {
  const members = await holdConnections(`${options.label} members`, {
    mode: options.kind,
    target: options.target,
    tracker: options.tracker,
    channel: options.channel,
    count: options.members,
  });
  const publisher = await BenchChild.start("publisher.ts", { name: `${options.label} publisher` });
  await publisher.call(
    "setup",
    { target: options.target, channel: options.channel, author: portable(options.owner) },
    30_000,
  );
  return { label: options.label, kind: options.kind, server: options.server, members, publisher };
}

export async function stopFanoutSystem(system: FanoutSystem): Promise<void> {
  await Promise.all([system.publisher.stop(), system.members.stop()]);
  await system.server.stop();
}

export interface FanoutRunOptions {
  runTag: string;
  messages: number;
  window: number;
  textBytes: number;
  timeoutMs: number;
}

export interface FanoutMeasurement {
  deliveries: number;
  wallMs: number;
  deliveriesPerSecond: number;
  latency: Histogram;
  serverCpuUs: number;
  serverMaxRssBytes: number;
  membersCpuUs: number;
  publisherCpuUs: number;
  /** Empty when every member got every message exactly once and in order. */
  errors: string[];
}

export async function measureFanout(system: FanoutSystem, run: FanoutRunOptions): Promise<FanoutMeasurement> {
  const before = await Promise.all([
    system.server.stats(),
    system.members.call<ProcessStats>("stats"),
    system.publisher.call<ProcessStats>("stats"),
  ]);
  await system.members.call("expect", { runTag: run.runTag, messages: run.messages });
  await system.server.profileStart?.();
  const published = await system.publisher.call<PublishOutcome>("publish", run, run.timeoutMs + 10_000);
  const received = await system.members.call<RunOutcome>(
    "wait",
    { timeoutMs: Math.max(10_000, run.timeoutMs / 4) },
    run.timeoutMs + 10_000,
  );
  await system.server.profileStop?.(run.runTag);
  const after = await Promise.all([
    system.server.stats(),
    system.members.call<ProcessStats>("stats"),
    system.publisher.call<ProcessStats>("stats"),
  ]);
  const errors = [...published.errors, ...received.errors];
  if (published.acked !== run.messages)
    errors.push(`${published.acked} of ${run.messages} messages acknowledged`);
  if (!received.complete && received.errors.length === 0) errors.push("deliveries incomplete");
  const wallMs = (received.lastReceiptUs - published.firstSendUs) / 1000;
  return {
    deliveries: received.deliveries,
    wallMs,
    deliveriesPerSecond: received.complete ? received.deliveries / (wallMs / 1000) : 0,
    latency: Histogram.fromJSON(received.latency),
    serverCpuUs: (after[0]?.cpuUs ?? 0) - (before[0]?.cpuUs ?? 0),
    serverMaxRssBytes: after[0]?.maxRssBytes ?? 0,
    membersCpuUs: (after[1]?.cpuUs ?? 0) - (before[1]?.cpuUs ?? 0),
    publisherCpuUs: (after[2]?.cpuUs ?? 0) - (before[2]?.cpuUs ?? 0),
    errors,
  };
}
