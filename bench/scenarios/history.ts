import { join as joinPath } from "node:path";
import { nowUs } from "../lib/clock.js";
import { type Credentials, signInAsGuest } from "../lib/credentials.js";
import {
  catchUp,
  checkSeqs,
  fillChannel,
  join,
  signedMessages,
  storeMessages,
} from "../lib/history-client.js";
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

/**
 * One side of the comparison: where to connect, the owner who fills the channel (signed messages,
 * the same on both sides) and how to get a ticket and key for a new member.
 */
interface Side {
  kind: "hychat" | "baseline";
  address: Address;
  owner: Credentials;
  member(): Credentials;
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
    "baseline-server.ts answering CACHE, CONNECT (since) and HISTORY from an in-memory array (storing and returning the same signed messages, sig and cert included, checking nothing), same client code (HELLO, CONNECT with a proof); the fill's messages are signed before it is timed on both sides",
  async run(context) {
    const tracker = await startTracker(joinPath(context.workDir, "tracker"));
    const owner = await signUpAndIn(tracker.ready.address, OWNER);
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
      const guests = await guestCredentials(tracker.ready.address, 2 * (connects + catchUps));
      const next = (): Credentials => {
        const guest = guests.pop();
        if (guest === undefined) throw new Error("out of guest tickets");
        return guest;
      };
      // The baseline's members send the same lines (a guest ticket, a proof): it checks neither.
      const sides: Side[] = [
        { kind: "hychat", address: host.ready.address, owner, member: next },
        { kind: "baseline", address: baseline.ready.address, owner, member: next },
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

async function guestCredentials(tracker: Address, count: number): Promise<Credentials[]> {
  const client = await WireClient.open(tracker);
  try {
    const guests: Credentials[] = [];
    await pipelined(count, 8, async () => {
      guests.push(await signInAsGuest(client));
    });
    return guests;
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
  const owner = await join(side.address, CHANNEL, side.owner);
  try {
    // Signed beforehand, as an outbox holds them: the fill times what the server does with them.
    const stored = signedMessages(side.owner, CHANNEL, "fill", STORED);
    const fillStartUs = nowUs();
    await storeMessages(owner.client, CHANNEL, stored);
    const fillSeconds = (nowUs() - fillStartUs) / 1e6;
    progress(`history: ${side.kind} stored ${STORED} messages in ${fillSeconds.toFixed(2)} s`);

    const connectMs: number[] = [];
    for (let attempt = 0; attempt < connects; attempt++) {
      const startUs = nowUs();
      const { client, reply } = await join(side.address, CHANNEL, side.member());
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
      const member = side.member();
      const first = await join(side.address, CHANNEL, member);
      const since = first.reply.latestSeq;
      await first.client.close();
      await fillChannel(owner.client, CHANNEL, side.owner, `missed${attempt}`, MISSED);
      const startUs = nowUs();
      const { client, seqs } = await catchUp(side.address, CHANNEL, member, since);
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
