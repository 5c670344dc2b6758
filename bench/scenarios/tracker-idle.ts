import { join } from "node:path";
import type { ProcessStats } from "../lib/child.js";
import { openFileLimit } from "../lib/fd-limit.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import { holdConnections, type ServerChild, startBaseline, startTracker } from "../lib/stacks.js";
import { median } from "../lib/stats.js";

const CONNECTIONS = 10_000;
/** Descriptors a process needs besides its sockets (stdio, databases, the IPC channel, libuv). */
const FD_SLACK = 200;
const RSS_TARGET_MB = 300;

/** Resident memory of the tracker holding 10,000 idle signed-in (GUEST) connections. */
export const trackerIdleScenario: Scenario = {
  name: "tracker-idle",
  baseline:
    "baseline-server.ts holding the same number of idle connections (after a HELLO and a CONNECT line)",
  async run(context) {
    const runs = context.quick ? 1 : 3;
    const limit = openFileLimit();
    const connections = Math.min(CONNECTIONS, limit.soft - FD_SLACK);
    if (connections < CONNECTIONS) {
      progress(
        `tracker-idle: open file limit ${limit.soft}: holding ${connections} connections, not ${CONNECTIONS}`,
      );
    }
    const hychatRuns: number[] = [];
    const baselineRuns: number[] = [];
    for (let run = 0; run < runs; run++) {
      const tracker = await startTracker(join(context.workDir, `tracker-${run}`));
      hychatRuns.push(await measure(tracker, connections, "hychat"));
      await tracker.stop();
      const baseline = await startBaseline();
      baselineRuns.push(await measure(baseline, connections, "baseline"));
      await baseline.stop();
      progress(
        `tracker-idle: run ${run + 1}: tracker ${hychatRuns[run]?.toFixed(0)} MB, baseline ${baselineRuns[run]?.toFixed(0)} MB`,
      );
    }
    context.record({
      scenario: "tracker",
      metric: `RSS with ${connections.toLocaleString("en-US")} idle signed-in connections`,
      unit: "MB",
      hychat: median(hychatRuns),
      baseline: median(baselineRuns),
      hychatRuns,
      baselineRuns,
      target: { subject: "hychat", op: "<", value: RSS_TARGET_MB },
    });
  },
};

/**
 * The server's resident memory once `connections` clients have each sent HELLO, then GUEST with a
 * key of their own and its proof (the tracker), or a CONNECT line (the baseline).
 */
async function measure(
  server: ServerChild,
  connections: number,
  kind: "hychat" | "baseline",
): Promise<number> {
  const clients = await holdConnections("idle clients", {
    mode: "baseline",
    target: server.ready.address,
    channel: "idle",
    count: connections,
    ...(kind === "hychat" ? { handshake: "guest" as const } : {}),
  });
  try {
    const stats = await server.call<ProcessStats>("stats");
    return stats.rssBytes / 1e6;
  } finally {
    await clients.stop();
  }
}
