import { join } from "node:path";
import { LIST_PAGE_MAX } from "../../src/protocol/tracker-schemas.js";
import { nowUs } from "../lib/clock.js";
import { directoryError, listWholeDirectory, pagesOf, type WholeDirectory } from "../lib/directory-pages.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import { startBaseline, startTracker } from "../lib/stacks.js";
import { median, percentile } from "../lib/stats.js";
import { registerChannels } from "../lib/tracker-seed.js";
import { type Address, WireClient } from "../lib/wire.js";

const CHANNELS = 10_000;
/** What listing the whole directory may take: every page, one after another, as a peer fetches it. */
const LIST_TARGET_MS = 50;

/** The whole directory of 10,000 channels listed page by page from the tracker, and one page of it. */
export const trackerListScenario: Scenario = {
  name: "tracker-list",
  baseline: `baseline-server.ts answering LIST from an in-memory array of 10,000 listings of the same shape, in the same pages (${LIST_PAGE_MAX} by name, \`after\` and \`next\`), fetched the same way: each page sent when the one before was answered`,
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
      const hychat = await timeLists(tracker.ready.address, lists);
      const baselineLists = await timeLists(baseline.ready.address, lists);
      const hychatMs = hychat.map((directory) => directory.wallMs);
      const baselineMs = baselineLists.map((directory) => directory.wallMs);
      const hychatPageMs = hychat.flatMap((directory) => directory.pageMs);
      const baselinePageMs = baselineLists.flatMap((directory) => directory.pageMs);
      progress(
        `tracker-list: whole directory (${pagesOf(CHANNELS)} pages) median ${median(hychatMs).toFixed(1)} ms, ` +
          `baseline ${median(baselineMs).toFixed(1)} ms; one page median ${median(hychatPageMs).toFixed(2)} ms, ` +
          `baseline ${median(baselinePageMs).toFixed(2)} ms`,
      );
      const details = { channels: CHANNELS, pages: pagesOf(CHANNELS), pageSize: LIST_PAGE_MAX };
      context.record({
        scenario: "tracker",
        metric: `LIST of the whole directory, ${CHANNELS.toLocaleString("en-US")} channels in ${pagesOf(CHANNELS)} pages, median`,
        unit: "ms",
        hychat: median(hychatMs),
        baseline: median(baselineMs),
        hychatRuns: hychatMs,
        baselineRuns: baselineMs,
        target: { subject: "hychat", op: "<", value: LIST_TARGET_MS },
        details: {
          ...details,
          p90: { hychat: percentile(hychatMs, 90), baseline: percentile(baselineMs, 90) },
        },
      });
      context.record({
        scenario: "tracker",
        metric: `one LIST page of ${LIST_PAGE_MAX} (all pages of every run), median`,
        unit: "ms",
        hychat: median(hychatPageMs),
        baseline: median(baselinePageMs),
        hychatRuns: hychatPageMs,
        baselineRuns: baselinePageMs,
        details: {
          ...details,
          p90: { hychat: percentile(hychatPageMs, 90), baseline: percentile(baselinePageMs, 90) },
        },
      });
    } finally {
      await Promise.all(registrars.map((client) => client.close()));
      await Promise.all([tracker.stop(), baseline.stop()]);
    }
  },
};

/**
 * Lists the whole directory `count` times (one warm-up first) on one connection; each listing is
 * checked afterwards to hold every channel once, in order, in the pages it should take.
 */
async function timeLists(address: Address, count: number): Promise<WholeDirectory[]> {
  const client = await WireClient.open(address);
  try {
    const directories: WholeDirectory[] = [];
    for (let attempt = -1; attempt < count; attempt++) {
      const directory = await listWholeDirectory(client);
      const error = directoryError(directory, CHANNELS);
      if (error !== undefined) throw new Error(error);
      if (attempt >= 0) directories.push(directory);
    }
    return directories;
  } finally {
    await client.close();
  }
}
