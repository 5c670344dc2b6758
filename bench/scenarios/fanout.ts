import { join } from "node:path";
import type { Credentials } from "../lib/credentials.js";
import {
  type FanoutMeasurement,
  type FanoutSystem,
  MAX_PRESIGNED_MESSAGES,
  measureFanout,
  startFanoutSystem,
  stopFanoutSystem,
} from "../lib/fanout.js";
import type { BenchChild } from "../lib/processes.js";
import { progress } from "../lib/progress.js";
import { medianRow, type Target } from "../lib/results.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import { type MeasuredServer, ShippedPeer } from "../lib/shipped-peer.js";
import {
  OWNER,
  type ServerChild,
  signUpAndIn,
  startBaseline,
  startHost,
  startTracker,
  unansweredAddress,
} from "../lib/stacks.js";
import { median } from "../lib/stats.js";
import { type Address, WireClient } from "../lib/wire.js";
import type { HostReady } from "../processes/host.js";

const CHANNEL = "fanout";
const WINDOW = 256;
const TEXT_BYTES = 100;
const MEMBER_COUNTS = [10, 100, 1000];
/** Deliveries per run; the message count per run is this over the member count. */
const DELIVERIES_FULL = 3_000_000;
const DELIVERIES_QUICK = 1_000_000;
const MIN_MESSAGES = 1_000;
/** Slowest rate a run may go before it counts as hung, in deliveries a second. */
const SLOWEST_RATE = 20_000;

const RATIO_TARGETS: Record<number, number> = { 10: 0.4, 100: 0.8, 1000: 0.8 };

/** The member count at which a host is also measured through the tracker's relay. */
const RELAYED_MEMBERS = 100;
/** Relayed throughput against the same host dialed directly, in the same invocation. */
const RELAYED_RATIO_TARGET = 0.5;
const RELAYED_CHANNEL = `${CHANNEL}-relayed`;
/** Low-load runs (one message in flight) of the direct and the relayed host, as the latency scenario's. */
const LOW_LOAD_WARM_UP_MESSAGES = 300;
const LOW_LOAD_MESSAGES_FULL = 2_000;
const LOW_LOAD_MESSAGES_QUICK = 500;
const LOW_LOAD_TIMEOUT_MS = 60_000;

/**
 * The servers measured side by side; every hychat one is compared with the baseline over TLS, and
 * the host and that baseline also with the same baseline over plain TCP (what TLS costs). The host
 * reached through the relay (N = 100 only) is compared with the host dialed directly.
 */
const SERVERS = [
  "host",
  "peer --headless",
  "peer shell",
  "baseline",
  "baseline plain",
  "host via relay",
] as const;
type ServerName = (typeof SERVERS)[number];

export const fanoutScenario: Scenario = {
  name: "fanout",
  baseline:
    "baseline-server.ts over TLS 1.3 (same key type and library as hychat): a minimal Node server that writes each publisher line to every member, corked per input batch; same load process and publisher. The same server over plain TCP is the second baseline (rows naming it). Measured beside them: the bare ChannelHost (`host`) and the shipped `hychat peer --channel-name` process, headless and with the shell reading a pipe (its own client joined, printing every message and, with the shell, marking it read). " +
    `Messages are pre-signed: the publisher signs and encodes each run's messages (each its own msgId and sentAt, the owner's key and ticket) before the clock starts, for hychat and the baselines alike, so every side gets the same bytes and no side's figure includes signing (in real use each member signs their own messages on their own machine; the signatures scenario reports that cost); runs of more than ${MAX_PRESIGNED_MESSAGES.toLocaleString("en-US")} messages are measured in segments, each signed before its own window, figures added up. Latency is from when the publisher wrote a message to its receipt. ` +
    `At N = ${RELAYED_MEMBERS} also \`host via relay\`: a second bare ChannelHost that advertises a closed port, so the tracker's reachability dial fails and lists it \`relay\`; its members dial the tracker (TLS, HELLO, RELAY_DIAL with their guest ticket's proof) and run TLS to the host inside the relayed stream (its fingerprint checked), then HELLO and CONNECT as the direct members do; its publisher dials the host directly. Its rows compare it with the directly dialed \`host\` of the same invocation: throughput and latency under the same load, and one message in flight as the latency scenario measures (${LOW_LOAD_MESSAGES_FULL.toLocaleString("en-US")} messages a run, ${LOW_LOAD_MESSAGES_QUICK} when quick); relay CPU is the tracker process's. The bench's tracker runs with the relay's byte-rate limits off (relayLimits hostBytesPerSecond and memberBytesPerSecond 0; defaults 32 and 4 MiB/s) and maxSessionsPerHost raised, so the figure is the relay's own cost, not its throttle`,
  async run(context) {
    const tracker = await startTracker(join(context.workDir, "tracker"));
    try {
      const owner = await signUpAndIn(tracker.ready.address, OWNER);
      for (const members of MEMBER_COUNTS) await measureMembers(context, tracker, owner, members);
    } finally {
      await tracker.stop();
    }
  },
};

async function measureMembers(
  context: ScenarioContext,
  tracker: ServerChild,
  owner: Credentials,
  members: number,
): Promise<void> {
  const runs = context.quick ? 1 : 5;
  const deliveries = context.quick ? DELIVERIES_QUICK : DELIVERIES_FULL;
  const messages = Math.max(MIN_MESSAGES, Math.round(deliveries / members));
  progress(`fanout: ${members} members, ${runs} run(s) of ${messages} messages each side`);
  const tracked = tracker.ready.address;
  const host = await startHost({
    workDir: context.workDir,
    name: `host-fanout-${members}`,
    tracker: tracked,
    channel: CHANNEL,
    limits: { maxConnections: members + 100 },
  });
  const shipped = async (shell: boolean): Promise<ShippedPeer> =>
    ShippedPeer.start({
      name: `hychat peer ${shell ? "shell" : "headless"} N=${members}`,
      dataDir: join(context.workDir, `peer-${shell ? "shell" : "headless"}-${members}`),
      tracker: tracked,
      channel: channelOf(shell ? "peer shell" : "peer --headless"),
      shell,
    });
  const headless = await shipped(false);
  const shell = await shipped(true);
  const baseline = await startBaseline("tls");
  const plainBaseline = await startBaseline("plain");
  const hychatSystem = (label: ServerName, server: MeasuredServer, address: Address) =>
    startFanoutSystem({
      label,
      kind: "hychat",
      server,
      target: address,
      tracker: tracked,
      channel: channelOf(label),
      members,
      owner,
    });
  const relayedHost =
    members === RELAYED_MEMBERS ? await startRelayedHost(context, tracker, members) : undefined;
  const systems = [
    await hychatSystem("host", host, host.ready.address),
    await hychatSystem("peer --headless", headless, headless.address),
    await hychatSystem("peer shell", shell, shell.address),
    await startFanoutSystem({
      label: "baseline",
      kind: "baseline",
      server: baseline,
      target: baseline.ready.address,
      channel: CHANNEL,
      members,
      owner,
    }),
    await startFanoutSystem({
      label: "baseline plain",
      kind: "baseline",
      server: plainBaseline,
      target: plainBaseline.ready.address,
      channel: CHANNEL,
      members,
      owner,
    }),
  ];
  if (relayedHost !== undefined)
    systems.push(
      await startFanoutSystem({
        label: "host via relay",
        kind: "hychat",
        server: relayedHost,
        target: relayedHost.ready.address,
        tracker: tracked,
        channel: RELAYED_CHANNEL,
        members,
        owner,
        relay: { tracker, hostFingerprint: relayedHost.ready.fingerprint },
      }),
    );
  try {
    // One short unmeasured run each, so every process is past its JIT warm-up.
    for (const system of systems) {
      const warmUp = await measureFanout(system, {
        runTag: `${tag(system.label)}${members}warm`,
        messages: Math.ceil(messages / 4),
        window: WINDOW,
        textBytes: TEXT_BYTES,
        timeoutMs: 30_000 + ((messages * members) / SLOWEST_RATE) * 1000,
      });
      for (const error of warmUp.errors)
        context.integrityFailure(`fanout ${system.label} N=${members} warm-up: ${error}`);
    }
    const results = new Map<string, FanoutMeasurement[]>(SERVERS.map((name) => [name, []]));
    for (let run = 0; run < runs; run++) {
      for (const system of systems) {
        const measured = await measureFanout(system, {
          runTag: `${tag(system.label)}${members}r${run}`,
          messages,
          window: WINDOW,
          textBytes: TEXT_BYTES,
          timeoutMs: 30_000 + ((messages * members) / SLOWEST_RATE) * 1000,
        });
        for (const error of measured.errors)
          context.integrityFailure(`fanout ${system.label} N=${members}: ${error}`);
        results.get(system.label)?.push(measured);
        progress(
          `fanout: ${system.label} N=${members} run ${run + 1}: ${Math.round(measured.deliveriesPerSecond).toLocaleString("en-US")} deliveries/s, ` +
            `server CPU ${(measured.serverCpuUs / 1e6).toFixed(2)} s, members CPU ${(measured.membersCpuUs / 1e6).toFixed(2)} s, ` +
            `${system.relay === undefined ? "" : `relay CPU ${(measured.relayCpuUs / 1e6).toFixed(2)} s, `}` +
            `publisher CPU ${(measured.publisherCpuUs / 1e6).toFixed(2)} s, wall ${(measured.wallMs / 1000).toFixed(2)} s ` +
            `(messages pre-signed in ${(measured.signMs / 1000).toFixed(1)} s before the clock` +
            `${measured.segments > 1 ? `, ${measured.segments} segments` : ""})`,
        );
      }
    }
    recordRows(context, members, messages, results);
    const direct = systems.find((system) => system.label === "host");
    const relayed = systems.find((system) => system.label === "host via relay");
    if (direct !== undefined && relayed !== undefined)
      await measureLowLoad(context, members, { direct, relayed });
  } finally {
    await Promise.all(systems.map((system) => stopFanoutSystem(system)));
  }
}

/**
 * A bare host whose channel the tracker lists `relay`: it listens on loopback (where its publisher
 * dials it) but advertises a port nobody answers, so the tracker's reachability dial fails; its
 * liveness link is up, so it dials back for each relayed member.
 */
async function startRelayedHost(
  context: ScenarioContext,
  tracker: ServerChild,
  members: number,
): Promise<BenchChild<HostReady>> {
  const host = await startHost({
    workDir: context.workDir,
    name: `host-fanout-relayed-${members}`,
    tracker: tracker.ready.address,
    channel: RELAYED_CHANNEL,
    limits: { maxConnections: members + 100 },
    advertise: await unansweredAddress(),
  });
  try {
    const client = await WireClient.open(tracker.ready.address);
    try {
      const { channels } = await client.request<{ channels: { reach: string | null }[] }>("LIST", {
        name: RELAYED_CHANNEL,
      });
      const reach = channels[0]?.reach;
      if (reach !== "relay")
        throw new Error(`the tracker lists ${RELAYED_CHANNEL} with reach ${reach}, not relay`);
    } finally {
      await client.close();
    }
  } catch (error) {
    await host.stop();
    throw error;
  }
  return host;
}

/**
 * What the relay adds where a chat user feels it: one message in flight (as the latency scenario
 * measures), the relayed host against the same host dialed directly, runs interleaved.
 */
async function measureLowLoad(
  context: ScenarioContext,
  members: number,
  systems: { direct: FanoutSystem; relayed: FanoutSystem },
): Promise<void> {
  const runs = context.quick ? 1 : 5;
  const messages = context.quick ? LOW_LOAD_MESSAGES_QUICK : LOW_LOAD_MESSAGES_FULL;
  const results = { direct: [] as FanoutMeasurement[], relayed: [] as FanoutMeasurement[] };
  for (let run = -1; run < runs; run++) {
    for (const side of ["direct", "relayed"] as const) {
      const system = systems[side];
      const measured = await measureFanout(system, {
        runTag: `${side}low${members}${run < 0 ? "warm" : `r${run}`}`,
        messages: run < 0 ? LOW_LOAD_WARM_UP_MESSAGES : messages,
        window: 1,
        textBytes: TEXT_BYTES,
        timeoutMs: LOW_LOAD_TIMEOUT_MS,
      });
      for (const error of measured.errors)
        context.integrityFailure(`fanout ${system.label} N=${members} one in flight: ${error}`);
      if (run < 0) continue;
      results[side].push(measured);
      progress(
        `fanout: ${system.label} N=${members} one in flight, run ${run + 1}: ` +
          `p50 ${(measured.latency.percentile(50) / 1000).toFixed(3)} ms, ` +
          `p99 ${(measured.latency.percentile(99) / 1000).toFixed(3)} ms over ${measured.latency.count} deliveries`,
      );
    }
  }
  for (const p of [50, 99]) {
    context.record(
      medianRow({
        scenario: `low-load latency N=${members} (pre-signed)`,
        metric: `send to receipt p${p}, 1 in flight, hychat host via relay vs the host dialed directly`,
        unit: "ms",
        hychatRuns: results.relayed.map((measured) => measured.latency.percentile(p) / 1000),
        baselineRuns: results.direct.map((measured) => measured.latency.percentile(p) / 1000),
        details: {
          members,
          messagesPerRun: messages,
          presigned: "every message signed and encoded by the publisher before the clock starts",
        },
      }),
    );
  }
}

/** The channel each server hosts: one per server, since all are hosted by the same owner at once. */
function channelOf(server: ServerName): string {
  if (server === "host via relay") return RELAYED_CHANNEL;
  return server === "host" || server.startsWith("baseline") ? CHANNEL : `${CHANNEL}-${tag(server)}`;
}

function tag(label: string): string {
  return label.replaceAll(/[^a-z]+/g, "");
}

function recordRows(
  context: ScenarioContext,
  members: number,
  messages: number,
  results: Map<string, FanoutMeasurement[]>,
): void {
  const scenario = `fan-out N=${members} (pre-signed)`;
  const row = (
    server: ServerName,
    metric: string,
    unit: string,
    pick: (measured: FanoutMeasurement) => number,
    target?: Target,
    against: "baseline" | "baseline plain" | "host" = "baseline",
  ): void => {
    const hychatRuns = (results.get(server) ?? []).map(pick);
    const baselineFigures = (results.get(against) ?? []).map(pick);
    const versus =
      against === "baseline"
        ? ""
        : against === "baseline plain"
          ? " vs the plain-TCP baseline"
          : " vs the host dialed directly";
    const who = server === "host" ? "" : server === "baseline" ? ", the TLS baseline" : `, hychat ${server}`;
    context.record({
      scenario,
      metric: `${metric}${who}${versus}`,
      unit,
      hychat: median(hychatRuns),
      baseline: median(baselineFigures),
      hychatRuns,
      baselineRuns: baselineFigures,
      target,
      details: {
        server,
        against,
        members,
        messagesPerRun: messages,
        window: WINDOW,
        textBytes: TEXT_BYTES,
        presigned: "every message signed and encoded by the publisher before the clock starts",
        segmentsPerRun: Math.ceil(messages / MAX_PRESIGNED_MESSAGES),
      },
    });
  };
  const ratio = RATIO_TARGETS[members];
  const ratioTarget: Target | undefined =
    ratio === undefined ? undefined : { subject: "ratio", op: ">=", value: ratio };
  row("host", "deliveries/s", "msg/s", (measured) => measured.deliveriesPerSecond, ratioTarget);
  row("host", "latency p50 under load", "ms", (measured) => measured.latency.percentile(50) / 1000);
  row("host", "latency p99 under load", "ms", (measured) => measured.latency.percentile(99) / 1000);
  row("host", "server CPU per 1M deliveries", "s", (measured) => measured.serverCpuUs / measured.deliveries);
  row("host", "server peak RSS", "MB", (measured) => measured.serverMaxRssBytes / 1e6);
  const deliveries = (measured: FanoutMeasurement) => measured.deliveriesPerSecond;
  row("host", "deliveries/s", "msg/s", deliveries, undefined, "baseline plain");
  row("baseline", "deliveries/s", "msg/s", deliveries, undefined, "baseline plain");
  row(
    "baseline",
    "server CPU per 1M deliveries",
    "s",
    (measured) => measured.serverCpuUs / measured.deliveries,
    undefined,
    "baseline plain",
  );
  if ((results.get("host via relay") ?? []).length > 0) {
    const relayed = "host via relay";
    const relayedTarget: Target = { subject: "ratio", op: ">=", value: RELAYED_RATIO_TARGET };
    const latency = (p: number) => (measured: FanoutMeasurement) => measured.latency.percentile(p) / 1000;
    row(relayed, "deliveries/s", "msg/s", deliveries, relayedTarget, "host");
    row(relayed, "latency p50 under load", "ms", latency(50), undefined, "host");
    row(relayed, "latency p99 under load", "ms", latency(99), undefined, "host");
    row(
      relayed,
      "host CPU per 1M deliveries",
      "s",
      (measured) => measured.serverCpuUs / measured.deliveries,
      undefined,
      "host",
    );
    // The relay's CPU beside what the host itself spends on the same deliveries when dialed directly.
    context.record(
      medianRow({
        scenario,
        metric: "relay (tracker) CPU per 1M deliveries, hychat host via relay vs the direct host's own CPU",
        unit: "s",
        hychatRuns: (results.get(relayed) ?? []).map((measured) => measured.relayCpuUs / measured.deliveries),
        baselineRuns: (results.get("host") ?? []).map(
          (measured) => measured.serverCpuUs / measured.deliveries,
        ),
        details: { server: relayed, against: "host", members, messagesPerRun: messages },
      }),
    );
  }
  for (const server of ["peer --headless", "peer shell"] as const) {
    row(server, "deliveries/s", "msg/s", (measured) => measured.deliveriesPerSecond, ratioTarget);
    row(server, "latency p99 under load", "ms", (measured) => measured.latency.percentile(99) / 1000);
    row(
      server,
      "server CPU per 1M deliveries",
      "s",
      (measured) => measured.serverCpuUs / measured.deliveries,
    );
  }
}
