import { join } from "node:path";
import { type FanoutMeasurement, measureFanout, startFanoutSystem, stopFanoutSystem } from "../lib/fanout.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import { OWNER, signUpAndIn, startBaseline, startHost, startTracker } from "../lib/stacks.js";
import { median } from "../lib/stats.js";

const CHANNEL = "latency";
const MEMBERS = 100;
const TEXT_BYTES = 100;
const WARM_UP_MESSAGES = 300;
const P99_TARGET_MS = 2;

/**
 * One message in flight to 100 members: the latency a chat user feels on a quiet channel, from
 * when the publisher writes a message to when each member has it. Messages are signed before the
 * clock starts, as a real sender signs before sending (the signatures scenario reports that cost).
 */
export const lowLatencyScenario: Scenario = {
  name: "latency",
  baseline:
    "baseline-server.ts with the same 100 members and one message in flight; messages pre-signed on both sides (signed and encoded before the clock starts; latency from the publisher's write to receipt)",
  async run(context) {
    const runs = context.quick ? 1 : 5;
    const messages = context.quick ? 500 : 2_000;
    const tracker = await startTracker(join(context.workDir, "tracker"));
    const owner = await signUpAndIn(tracker.ready.address, OWNER);
    const host = await startHost({
      workDir: context.workDir,
      name: "host-latency",
      tracker: tracker.ready.address,
      channel: CHANNEL,
    });
    const baseline = await startBaseline();
    const systems = [
      await startFanoutSystem({
        label: "host",
        kind: "hychat",
        server: host,
        target: host.ready.address,
        tracker: tracker.ready.address,
        channel: CHANNEL,
        members: MEMBERS,
        owner,
      }),
      await startFanoutSystem({
        label: "baseline",
        kind: "baseline",
        server: baseline,
        target: baseline.ready.address,
        channel: CHANNEL,
        members: MEMBERS,
        owner,
      }),
    ];
    try {
      const results: Record<"hychat" | "baseline", FanoutMeasurement[]> = { hychat: [], baseline: [] };
      for (let run = -1; run < runs; run++) {
        for (const system of systems) {
          const measured = await measureFanout(system, {
            runTag: `${system.kind}lat${run < 0 ? "warm" : run}`,
            messages: run < 0 ? WARM_UP_MESSAGES : messages,
            window: 1,
            textBytes: TEXT_BYTES,
            timeoutMs: 60_000,
          });
          for (const error of measured.errors) context.integrityFailure(`latency ${system.kind}: ${error}`);
          if (run < 0) continue;
          results[system.kind].push(measured);
          progress(
            `latency: ${system.kind} run ${run + 1}: p50 ${(measured.latency.percentile(50) / 1000).toFixed(3)} ms, ` +
              `p99 ${(measured.latency.percentile(99) / 1000).toFixed(3)} ms over ${measured.latency.count} deliveries`,
          );
        }
      }
      for (const [metric, p] of [
        ["p50", 50],
        ["p99", 99],
      ] as const) {
        const hychatRuns = results.hychat.map((measured) => measured.latency.percentile(p) / 1000);
        const baselineRuns = results.baseline.map((measured) => measured.latency.percentile(p) / 1000);
        context.record({
          scenario: `low-load latency N=${MEMBERS} (pre-signed)`,
          metric: `send to receipt ${metric}, 1 in flight`,
          unit: "ms",
          hychat: median(hychatRuns),
          baseline: median(baselineRuns),
          hychatRuns,
          baselineRuns,
          target: p === 99 ? { subject: "hychat", op: "<=", value: P99_TARGET_MS } : undefined,
          details: {
            members: MEMBERS,
            messagesPerRun: messages,
            presigned: "every message signed and encoded by the publisher before the clock starts",
          },
        });
      }
    } finally {
      await Promise.all(systems.map((system) => stopFanoutSystem(system)));
      await tracker.stop();
    }
  },
};
