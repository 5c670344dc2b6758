import { join } from "node:path";
import type { ProcessStats } from "../lib/child.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import {
  holdConnections,
  OWNER,
  type ServerChild,
  signUp,
  startBaseline,
  startHost,
  startTracker,
} from "../lib/stacks.js";
import { median } from "../lib/stats.js";
import type { Address } from "../lib/wire.js";

const CHANNEL = "idle";
const MEMBERS = 1_000;
const RSS_TARGET_MB = 100;

/** Resident memory of a channel host with 1,000 idle members joined. */
export const memoryScenario: Scenario = {
  name: "memory",
  baseline: "baseline-server.ts holding the same 1,000 members after their HELLO and CONNECT lines",
  async run(context) {
    const runs = context.quick ? 1 : 3;
    const tracker = await startTracker(join(context.workDir, "tracker"));
    try {
      await signUp(tracker.ready.address, OWNER);
      const hychatRuns: number[] = [];
      const baselineRuns: number[] = [];
      const idleRuns: number[] = [];
      for (let run = 0; run < runs; run++) {
        const host = await startHost({
          workDir: context.workDir,
          name: `host-memory-${run}`,
          tracker: tracker.ready.address,
          channel: CHANNEL,
        });
        const hychat = await measure(host, "hychat", host.ready.address, tracker.ready.address);
        await host.stop();
        const baseline = await startBaseline();
        const base = await measure(baseline, "baseline", baseline.ready.address);
        await baseline.stop();
        hychatRuns.push(hychat.joined);
        baselineRuns.push(base.joined);
        idleRuns.push(hychat.idle);
        progress(
          `memory: run ${run + 1}: host ${hychat.idle.toFixed(0)} MB alone, ${hychat.joined.toFixed(0)} MB with ` +
            `${MEMBERS} members; baseline ${base.idle.toFixed(0)} / ${base.joined.toFixed(0)} MB`,
        );
      }
      context.record({
        scenario: "memory",
        metric: `host RSS with ${MEMBERS.toLocaleString("en-US")} idle members`,
        unit: "MB",
        hychat: median(hychatRuns),
        baseline: median(baselineRuns),
        hychatRuns,
        baselineRuns,
        target: { subject: "hychat", op: "<", value: RSS_TARGET_MB },
        details: { hostRssWithoutMembersMB: median(idleRuns) },
      });
    } finally {
      await tracker.stop();
    }
  },
};

/** The server's resident memory before and after `MEMBERS` members joined. */
async function measure(
  server: ServerChild,
  mode: "hychat" | "baseline",
  target: Address,
  tracker?: Address,
): Promise<{ idle: number; joined: number }> {
  const idle = (await server.call<ProcessStats>("stats")).rssBytes / 1e6;
  const members = await holdConnections(`${mode} idle members`, {
    mode,
    target,
    tracker,
    channel: CHANNEL,
    count: MEMBERS,
  });
  try {
    const joined = (await server.call<ProcessStats>("stats")).rssBytes / 1e6;
    return { idle, joined };
  } finally {
    await members.stop();
  }
}
