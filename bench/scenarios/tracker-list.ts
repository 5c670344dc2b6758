import { join } from "node:path";
import { nowUs } from "../lib/clock.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import { startBaseline, startTracker } from "../lib/stacks.js";
import { median, percentile } from "../lib/stats.js";
import { registerChannels } from "../lib/tracker-seed.js";
import { type Address, WireClient } from "../lib/wire.js";

const CHANNELS = 10_000;
const LIST_TARGET_MS = 50;

/** LIST round trip with 10,000 channels registered on the tracker. */
export const trackerListScenario: Scenario = {
  name: "tracker-list",
  baseline:
    "baseline-server.ts answering LIST with 10,000 listings of the same shape from an in-memory array",
  async run(context) {
    const lists = context.quick ? 5 : 20;
    const tracker = await startTracker(join(context.workDir, "tracker"));
    const baseline = await startBaseline();
    let registrars: WireClient[] = [];
    try {
      const startedUs = nowUs();
      registrars = await registerChannels(tracker.ready.address, CHANNELS);
      progress(
        `tracker-list: ${CHANNELS} channels registered in ${((nowUs() - startedUs) / 1e6).toFixed(1)} s`,
      );
      await baseline.call("fillListings", { count: CHANNELS });
      const hychatMs = await timeLists(tracker.ready.address, lists);
      const baselineMs = await timeLists(baseline.ready.address, lists);
      progress(
        `tracker-list: LIST median ${median(hychatMs).toFixed(1)} ms, baseline ${median(baselineMs).toFixed(1)} ms`,
      );
      context.record({
        scenario: "tracker",
        metric: `LIST with ${CHANNELS.toLocaleString("en-US")} channels, median`,
        unit: "ms",
        hychat: median(hychatMs),
        baseline: median(baselineMs),
        hychatRuns: hychatMs,
        baselineRuns: baselineMs,
        target: { subject: "hychat", op: "<", value: LIST_TARGET_MS },
        details: { p90: { hychat: percentile(hychatMs, 90), baseline: percentile(baselineMs, 90) } },
      });
    } finally {
      await Promise.all(registrars.map((client) => client.close()));
      await Promise.all([tracker.stop(), baseline.stop()]);
    }
  },
};

/** Times `count` LIST round trips (one warm-up first), each checked to hold every channel. */
async function timeLists(address: Address, count: number): Promise<number[]> {
  const client = await WireClient.open(address);
  try {
    const times: number[] = [];
    for (let attempt = -1; attempt < count; attempt++) {
      const startUs = nowUs();
      const body = await client.request<{ channels: unknown[] }>("LIST", {});
      if (attempt >= 0) times.push((nowUs() - startUs) / 1000);
      if (body.channels.length !== CHANNELS) throw new Error(`LIST gave ${body.channels.length} channels`);
    }
    return times;
  } finally {
    await client.close();
  }
}
