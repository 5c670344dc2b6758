import type { RunOutcome, RunSends } from "../processes/members.js";
import type { PreparedRun, PublishOutcome } from "../processes/publisher.js";
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
  /** The tracker whose relay carries the members' streams, when they come through it. */
  relay?: MeasuredProcess;
}

/** A process whose CPU a run takes, without owning it (the tracker outlives the systems that use its relay). */
export type MeasuredProcess = Pick<MeasuredServer, "stats">;

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
   * with (before each run's clock starts): on the baseline too, so its messages are the same
   * bytes (it checks nothing).
   */
  owner: Credentials;
  /**
   * The members reach the server through this tracker's relay (`tracker` is its address), the
   * server presenting `hostFingerprint`; the publisher still dials `target`.
   */
  relay?: { tracker: MeasuredProcess; hostFingerprint: string };
}

export async function startFanoutSystem(options: FanoutSystemOptions): Promise<FanoutSystem> {
  const members = await holdConnections(`${options.label} members`, {
    mode: options.kind,
    target: options.target,
    tracker: options.tracker,
    channel: options.channel,
    count: options.members,
    ...(options.relay === undefined ? {} : { relay: { hostFingerprint: options.relay.hostFingerprint } }),
  });
  const publisher = await BenchChild.start("publisher.ts", { name: `${options.label} publisher` });
  await publisher.call(
    "setup",
    { target: options.target, channel: options.channel, author: portable(options.owner) },
    30_000,
  );
  return {
    label: options.label,
    kind: options.kind,
    server: options.server,
    members,
    publisher,
    ...(options.relay === undefined ? {} : { relay: options.relay.tracker }),
  };
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

/**
 * Most messages the publisher holds signed at once. A run of more is measured in segments of at
 * most this many, each signed before its own clock starts; its figures add up over them.
 */
export const MAX_PRESIGNED_MESSAGES = 200_000;

export interface FanoutMeasurement {
  deliveries: number;
  /** Measured time: the segments' windows from first send to last receipt, added up. */
  wallMs: number;
  deliveriesPerSecond: number;
  latency: Histogram;
  serverCpuUs: number;
  serverMaxRssBytes: number;
  membersCpuUs: number;
  /** CPU of the tracker that relayed the members' streams (0 when they dialed the server). */
  relayCpuUs: number;
  /** Publisher CPU within the measured windows (sending and reading answers; no signing). */
  publisherCpuUs: number;
  /** Time spent signing and encoding the run's messages before its clock(s) started. */
  signMs: number;
  /** Measured windows the run took (more than one when it had over `MAX_PRESIGNED_MESSAGES`). */
  segments: number;
  /** Empty when every member got every message exactly once and in order. */
  errors: string[];
}

/**
 * One run: `run.messages` messages from the publisher, each to every member. The publisher signs
 * and encodes them first, outside the measured window (a real sender signs their own messages
 * before sending them); a run of more than `MAX_PRESIGNED_MESSAGES` goes in segments, each signed
 * before its window, whose deliveries, times, CPU and latencies add up.
 */
export async function measureFanout(system: FanoutSystem, run: FanoutRunOptions): Promise<FanoutMeasurement> {
  const segments = Math.ceil(run.messages / MAX_PRESIGNED_MESSAGES);
  const parts: FanoutMeasurement[] = [];
  let done = 0;
  for (let segment = 0; segment < segments; segment++) {
    const messages = Math.round((run.messages * (segment + 1)) / segments) - done;
    done += messages;
    const runTag = segments === 1 ? run.runTag : `${run.runTag}s${segment}`;
    parts.push(await measureSegment(system, { ...run, runTag, messages }));
  }
  if (parts.length === 1) return parts[0] as FanoutMeasurement;
  const sum = (pick: (part: FanoutMeasurement) => number): number =>
    parts.reduce((total, part) => total + pick(part), 0);
  const latency = new Histogram();
  for (const part of parts) latency.add(part.latency);
  const complete = parts.every((part) => part.deliveriesPerSecond > 0);
  const wallMs = sum((part) => part.wallMs);
  const deliveries = sum((part) => part.deliveries);
  return {
    deliveries,
    wallMs,
    deliveriesPerSecond: complete ? deliveries / (wallMs / 1000) : 0,
    latency,
    serverCpuUs: sum((part) => part.serverCpuUs),
    serverMaxRssBytes: Math.max(...parts.map((part) => part.serverMaxRssBytes)),
    membersCpuUs: sum((part) => part.membersCpuUs),
    relayCpuUs: sum((part) => part.relayCpuUs),
    publisherCpuUs: sum((part) => part.publisherCpuUs),
    signMs: sum((part) => part.signMs),
    segments: parts.length,
    errors: parts.flatMap((part, index) => part.errors.map((error) => `segment ${index + 1}: ${error}`)),
  };
}

/** The server's, members', publisher's and (when there is one) the relay's CPU and memory so far. */
function statsOf(system: FanoutSystem): Promise<ProcessStats[]> {
  return Promise.all([
    system.server.stats(),
    system.members.call<ProcessStats>("stats"),
    system.publisher.call<ProcessStats>("stats"),
    ...(system.relay === undefined ? [] : [system.relay.stats()]),
  ]);
}

async function measureSegment(system: FanoutSystem, run: FanoutRunOptions): Promise<FanoutMeasurement> {
  // Signing is done before the figures before the window are taken: none of its CPU is counted.
  const signed = await system.publisher.call<PreparedRun>(
    "prepare",
    { runTag: run.runTag, messages: run.messages, textBytes: run.textBytes },
    // Well over the ~100 µs a message signing and encoding take on a slow machine.
    60_000 + run.messages * 2,
  );
  const before = await statsOf(system);
  await system.members.call("expect", { runTag: run.runTag, messages: run.messages });
  await system.server.profileStart?.();
  const published = await system.publisher.call<PublishOutcome>(
    "publish",
    { window: run.window, timeoutMs: run.timeoutMs },
    run.timeoutMs + 10_000,
  );
  const sends: RunSends = { firstSendUs: published.firstSendUs, sendOffsetsUs: published.sendOffsetsUs };
  const received = await system.members.call<RunOutcome>(
    "wait",
    { timeoutMs: Math.max(10_000, run.timeoutMs / 4), ...sends },
    run.timeoutMs + 10_000,
  );
  await system.server.profileStop?.(run.runTag);
  const after = await statsOf(system);
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
    relayCpuUs: (after[3]?.cpuUs ?? 0) - (before[3]?.cpuUs ?? 0),
    signMs: signed.signMs,
    segments: 1,
    errors,
  };
}
