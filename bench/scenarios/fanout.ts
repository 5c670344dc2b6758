import { join } from "node:path";
import { type FanoutMeasurement, measureFanout, startFanoutSystem, stopFanoutSystem } from "../lib/fanout.js";
import { progress } from "../lib/progress.js";
import type { Target } from "../lib/results.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import {
  OWNER,
  type ServerChild,
  signUpAndIn,
  startBaseline,
  startHost,
  startTracker,
} from "../lib/stacks.js";
import { median } from "../lib/stats.js";

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

export const fanoutScenario: Scenario = {
  name: "fanout",
  baseline:
    "baseline-server.ts: a minimal Node server that writes each publisher line to every member, corked per input batch; same load process and publisher",
  async run(context) {
    const tracker = await startTracker(join(context.workDir, "tracker"));
    try {
      const ownerTicket = await signUpAndIn(tracker.ready.address, OWNER);
      for (const members of MEMBER_COUNTS) await measureMembers(context, tracker, ownerTicket, members);
    } finally {
      await tracker.stop();
    }
  },
};

async function measureMembers(
  context: ScenarioContext,
  tracker: ServerChild,
  ownerTicket: string,
  members: number,
): Promise<void> {
  const runs = context.quick ? 1 : 5;
  const deliveries = context.quick ? DELIVERIES_QUICK : DELIVERIES_FULL;
  const messages = Math.max(MIN_MESSAGES, Math.round(deliveries / members));
  progress(`fanout: ${members} members, ${runs} run(s) of ${messages} messages each side`);
  const host = await startHost({
    workDir: context.workDir,
    name: `host-fanout-${members}`,
    tracker: tracker.ready.address,
    channel: CHANNEL,
    limits: { maxConnections: members + 100 },
  });
  const baseline = await startBaseline();
  const systems = [
    await startFanoutSystem({
      kind: "hychat",
      server: host,
      target: host.ready.address,
      tracker: tracker.ready.address,
      channel: CHANNEL,
      members,
      ownerTicket,
    }),
    await startFanoutSystem({
      kind: "baseline",
      server: baseline,
      target: baseline.ready.address,
      channel: CHANNEL,
      members,
    }),
  ];
  try {
    // One short unmeasured run each, so every process is past its JIT warm-up.
    for (const system of systems) {
      const warmUp = await measureFanout(system, {
        runTag: `${system.kind}${members}warm`,
        messages: Math.ceil(messages / 4),
        window: WINDOW,
        textBytes: TEXT_BYTES,
        timeoutMs: 30_000 + ((messages * members) / SLOWEST_RATE) * 1000,
      });
      for (const error of warmUp.errors)
        context.integrityFailure(`fanout ${system.kind} N=${members} warm-up: ${error}`);
    }
    const results: Record<"hychat" | "baseline", FanoutMeasurement[]> = { hychat: [], baseline: [] };
    for (let run = 0; run < runs; run++) {
      for (const system of systems) {
        const measured = await measureFanout(system, {
          runTag: `${system.kind}${members}r${run}`,
          messages,
          window: WINDOW,
          textBytes: TEXT_BYTES,
          timeoutMs: 30_000 + ((messages * members) / SLOWEST_RATE) * 1000,
        });
        for (const error of measured.errors)
          context.integrityFailure(`fanout ${system.kind} N=${members}: ${error}`);
        results[system.kind].push(measured);
        progress(
          `fanout: ${system.kind} N=${members} run ${run + 1}: ${Math.round(measured.deliveriesPerSecond).toLocaleString("en-US")} deliveries/s, ` +
            `server CPU ${(measured.serverCpuUs / 1e6).toFixed(2)} s, members CPU ${(measured.membersCpuUs / 1e6).toFixed(2)} s, ` +
            `publisher CPU ${(measured.publisherCpuUs / 1e6).toFixed(2)} s, wall ${(measured.wallMs / 1000).toFixed(2)} s`,
        );
      }
    }
    recordRows(context, members, messages, results);
  } finally {
    await Promise.all(systems.map((system) => stopFanoutSystem(system)));
  }
}

function recordRows(
  context: ScenarioContext,
  members: number,
  messages: number,
  results: Record<"hychat" | "baseline", FanoutMeasurement[]>,
): void {
  const scenario = `fan-out N=${members}`;
  const row = (
    metric: string,
    unit: string,
    pick: (measured: FanoutMeasurement) => number,
    target?: Target,
  ): void => {
    const hychatRuns = results.hychat.map(pick);
    const baselineRuns = results.baseline.map(pick);
    context.record({
      scenario,
      metric,
      unit,
      hychat: median(hychatRuns),
      baseline: median(baselineRuns),
      hychatRuns,
      baselineRuns,
      target,
      details: { members, messagesPerRun: messages, window: WINDOW, textBytes: TEXT_BYTES },
    });
  };
  const ratioTarget = RATIO_TARGETS[members];
  row(
    "deliveries/s",
    "msg/s",
    (measured) => measured.deliveriesPerSecond,
    ratioTarget === undefined ? undefined : { subject: "ratio", op: ">=", value: ratioTarget },
  );
  row("latency p50 under load", "ms", (measured) => measured.latency.percentile(50) / 1000);
  row("latency p99 under load", "ms", (measured) => measured.latency.percentile(99) / 1000);
  row("server CPU per 1M deliveries", "s", (measured) => measured.serverCpuUs / measured.deliveries);
  row("server peak RSS", "MB", (measured) => measured.serverMaxRssBytes / 1e6);
}
