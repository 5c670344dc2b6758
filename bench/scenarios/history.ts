import { join as joinPath } from "node:path";
import { nowUs } from "../lib/clock.js";
import { catchUp, checkSeqs, fillChannel, join } from "../lib/history-client.js";
import { progress } from "../lib/progress.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import { OWNER, signUpAndIn, startBaseline, startHost, startTracker } from "../lib/stacks.js";
import { median, percentile } from "../lib/stats.js";
import { type Address, pipelined, WireClient } from "../lib/wire.js";

const CHANNEL = "history";
const STORED = 100_000;
const MISSED = 10_000;
const CONNECT_PAGE = 50;
const CONNECT_TARGET_MS = 20;
const CATCH_UP_TARGET_MS = 500;

/** One side of the comparison: where to connect and how to get a ticket for a new member. */
interface Side {
  kind: "hychat" | "baseline";
  address: Address;
  ownerTicket: string;
  memberTicket(): string;
}

interface SideFigures {
  fillPerSecond: number;
  connectMs: number[];
  catchUpMs: number[];
}

/** Joining a channel with 100,000 stored messages, and catching up 10,000 missed ones. */
export const historyScenario: Scenario = {
  name: "history",
  baseline:
    "baseline-server.ts answering CACHE, CONNECT (since) and HISTORY from an in-memory array, same client code",
  async run(context) {
    const tracker = await startTracker(joinPath(context.workDir, "tracker"));
    const ownerTicket = await signUpAndIn(tracker.ready.address, OWNER);
    const host = await startHost({
      workDir: context.workDir,
      name: "host-history",
      tracker: tracker.ready.address,
      channel: CHANNEL,
    });
    const baseline = await startBaseline();
    try {
      const connects = context.quick ? 5 : 20;
      const catchUps = context.quick ? 2 : 5;
      const tickets = await guestTickets(tracker.ready.address, connects + catchUps);
      const sides: Side[] = [
        { kind: "hychat", address: host.ready.address, ownerTicket, memberTicket: () => tickets.pop() ?? "" },
        { kind: "baseline", address: baseline.ready.address, ownerTicket: "-", memberTicket: () => "-" },
      ];
      const figures: SideFigures[] = [];
      for (const side of sides) figures.push(await measureSide(context, side, connects, catchUps));
      const [hychat, base] = figures as [SideFigures, SideFigures];
      context.record({
        scenario: "join and catch-up",
        metric: `fill ${STORED.toLocaleString("en-US")} via CACHE batches of 500`,
        unit: "msg/s",
        hychat: hychat.fillPerSecond,
        baseline: base.fillPerSecond,
        hychatRuns: [hychat.fillPerSecond],
        baselineRuns: [base.fillPerSecond],
      });
      context.record({
        scenario: "join and catch-up",
        metric: `CONNECT (no since) on ${STORED.toLocaleString("en-US")} stored, median`,
        unit: "ms",
        hychat: median(hychat.connectMs),
        baseline: median(base.connectMs),
        hychatRuns: hychat.connectMs,
        baselineRuns: base.connectMs,
        target: { subject: "hychat", op: "<", value: CONNECT_TARGET_MS },
        details: {
          p90: { hychat: percentile(hychat.connectMs, 90), baseline: percentile(base.connectMs, 90) },
        },
      });
      context.record({
        scenario: "join and catch-up",
        metric: `rejoin with since, ${MISSED.toLocaleString("en-US")} missed, until all received`,
        unit: "ms",
        hychat: median(hychat.catchUpMs),
        baseline: median(base.catchUpMs),
        hychatRuns: hychat.catchUpMs,
        baselineRuns: base.catchUpMs,
        target: { subject: "hychat", op: "<", value: CATCH_UP_TARGET_MS },
      });
    } finally {
      await Promise.all([host.stop(), baseline.stop()]);
      await tracker.stop();
    }
  },
};

async function guestTickets(tracker: Address, count: number): Promise<string[]> {
  const client = await WireClient.open(tracker);
  try {
    const tickets: string[] = [];
    await pipelined(count, 8, async () => {
      tickets.push((await client.request<{ ticket: string }>("GUEST", {})).ticket);
    });
    return tickets;
  } finally {
    await client.close();
  }
}

async function measureSide(
  context: ScenarioContext,
  side: Side,
  connects: number,
  catchUps: number,
): Promise<SideFigures> {
  const owner = await join(side.address, CHANNEL, side.ownerTicket);
  try {
    const fillStartUs = nowUs();
    await fillChannel(owner.client, CHANNEL, "fill", STORED);
    const fillSeconds = (nowUs() - fillStartUs) / 1e6;
    progress(`history: ${side.kind} stored ${STORED} messages in ${fillSeconds.toFixed(2)} s`);

    const connectMs: number[] = [];
    for (let attempt = 0; attempt < connects; attempt++) {
      const startUs = nowUs();
      const { client, reply } = await join(side.address, CHANNEL, side.memberTicket());
      connectMs.push((nowUs() - startUs) / 1000);
      await client.close();
      if (reply.history.length !== CONNECT_PAGE || reply.latestSeq !== STORED) {
        context.integrityFailure(
          `history ${side.kind}: CONNECT gave ${reply.history.length} messages, latestSeq ${reply.latestSeq}`,
        );
      }
    }
    progress(`history: ${side.kind} CONNECT median ${median(connectMs).toFixed(2)} ms`);

    const catchUpMs: number[] = [];
    for (let attempt = 0; attempt < catchUps; attempt++) {
      const ticket = side.memberTicket();
      const first = await join(side.address, CHANNEL, ticket);
      const since = first.reply.latestSeq;
      await first.client.close();
      await fillChannel(owner.client, CHANNEL, `missed${attempt}`, MISSED);
      const startUs = nowUs();
      const { client, seqs } = await catchUp(side.address, CHANNEL, ticket, since);
      catchUpMs.push((nowUs() - startUs) / 1000);
      await client.close();
      const problem = checkSeqs(seqs, since + 1, MISSED);
      if (problem !== null) context.integrityFailure(`history ${side.kind} catch-up: ${problem}`);
    }
    progress(`history: ${side.kind} catch-up of ${MISSED} median ${median(catchUpMs).toFixed(1)} ms`);
    return { fillPerSecond: STORED / fillSeconds, connectMs, catchUpMs };
  } finally {
    await owner.client.close();
  }
}
