import { join as joinPath } from "node:path";
import { nowUs } from "../lib/clock.js";
import type { Credentials } from "../lib/credentials.js";
import { join, signedMessages, storeMessages } from "../lib/history-client.js";
import { BenchChild } from "../lib/processes.js";
import { progress } from "../lib/progress.js";
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
import type { DeliveryReport, OutboxPeerConfig } from "../processes/outbox-peer.js";

const CHANNEL = "outbox";
const QUEUED = 10_000;
const TEXT_BYTES = 100;
const FLUSH_TARGET_MS = 2_000;

/** 10,000 messages queued while the channel's host is down, delivered once it is back. */
export const outboxScenario: Scenario = {
  name: "outbox",
  baseline:
    "the same 10,000 messages as CACHE batches of 500, one batch in flight (as the outbox flusher sends them), from a plain client straight to baseline-server.ts: signed by a user's key beforehand, as an outbox holds them, and timed from opening the connection (HELLO, CONNECT with a proof)",
  async run(context) {
    const runs = context.quick ? 1 : 3;
    const tracker = await startTracker(joinPath(context.workDir, "tracker"));
    // The baseline client sends messages signed with a real ticket and key, as long as hychat's.
    const sender = await signUpAndIn(tracker.ready.address, OWNER);
    const baseline = await startBaseline();
    try {
      const hychatRuns: number[] = [];
      const baselineRuns: number[] = [];
      for (let run = 0; run < runs; run++) {
        hychatRuns.push(await measurePeer(context, tracker, run));
        baselineRuns.push(await measureBaseline(baseline, sender));
        progress(
          `outbox: run ${run + 1}: hychat flush ${hychatRuns[run]?.toFixed(0)} ms, baseline ${baselineRuns[run]?.toFixed(0)} ms`,
        );
      }
      context.record({
        scenario: "outbox",
        metric: `host back to all ${QUEUED.toLocaleString("en-US")} queued acknowledged`,
        unit: "ms",
        hychat: median(hychatRuns),
        baseline: median(baselineRuns),
        hychatRuns,
        baselineRuns,
        target: { subject: "hychat", op: "<", value: FLUSH_TARGET_MS },
      });
    } finally {
      await baseline.stop();
      await tracker.stop();
    }
  },
};

/** Host up, peer joins, host down, 10,000 sends queued, host restarted: ms from listed to last ack. */
async function measurePeer(context: ScenarioContext, tracker: ServerChild, run: number): Promise<number> {
  const hostDir = joinPath(context.workDir, `host-outbox-${run}`);
  const hostOptions = {
    workDir: context.workDir,
    name: `host-outbox-${run}`,
    tracker: tracker.ready.address,
    channel: CHANNEL,
    dataDir: hostDir,
  };
  let host = await startHost(hostOptions);
  const config: OutboxPeerConfig = {
    tracker: tracker.ready.address,
    dataDir: joinPath(context.workDir, `peer-${run}`),
    account: { username: `sender${run}`, password: "bench-sender-password" },
    channel: CHANNEL,
  };
  const peer = await BenchChild.start("outbox-peer.ts", {
    name: "outbox peer",
    args: [JSON.stringify(config)],
  });
  try {
    await peer.call("waitLink", { state: "online", timeoutMs: 30_000 }, 40_000);
    await host.stop();
    await peer.call("waitLink", { state: "unreachable", timeoutMs: 30_000 }, 40_000).catch(() => {
      // Some clients report `connecting` while retrying; queued sends are what matters below.
    });
    const { queuedMs } = await peer.call<{ queuedMs: number }>(
      "queue",
      { count: QUEUED, textBytes: TEXT_BYTES },
      120_000,
    );
    progress(`outbox: ${QUEUED} sends queued in ${queuedMs.toFixed(0)} ms; restarting the host`);
    host = await startHost(hostOptions);
    const report = await peer.call<DeliveryReport>("waitDelivered", { timeoutMs: 60_000 }, 70_000);
    for (const error of report.errors) context.integrityFailure(`outbox: ${error}`);
    checkOrder(context, report);
    return (report.lastDeliveredUs - host.ready.readyUs) / 1000;
  } finally {
    await peer.stop();
    await host.stop();
  }
}

function checkOrder(context: ScenarioContext, report: DeliveryReport): void {
  if (report.delivered !== QUEUED) {
    context.integrityFailure(`outbox: ${report.delivered} of ${QUEUED} delivered`);
    return;
  }
  for (let index = 1; index < report.seqs.length; index++) {
    const previous = report.seqs[index - 1] as number;
    if (report.seqs[index] !== previous + 1) {
      context.integrityFailure(`outbox: message ${index} got seq ${report.seqs[index]} after ${previous}`);
      return;
    }
  }
}

async function measureBaseline(baseline: ServerChild, sender: Credentials): Promise<number> {
  const queued = signedMessages(sender, CHANNEL, `outbox${nowUs()}`, QUEUED);
  const startUs = nowUs();
  const { client } = await join(baseline.ready.address, CHANNEL, sender);
  try {
    await storeMessages(client, CHANNEL, queued, 1);
    return (nowUs() - startUs) / 1000;
  } finally {
    await client.close();
  }
}
