import { cpSync, rmSync } from "node:fs";
import { join as joinPath } from "node:path";
import { nowUs } from "../lib/clock.js";
import { deviceIdFor, signIn, trackerVerifier } from "../lib/credentials.js";
import { withDeadline } from "../lib/deadline.js";
import { catchUp, checkSeqs, fillChannel, join } from "../lib/history-client.js";
import { MemberCli } from "../lib/member-cli.js";
import { progress } from "../lib/progress.js";
import { medianRow, type Target } from "../lib/results.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import { OWNER, signUpAndIn, startHost, startTracker } from "../lib/stacks.js";
import { type Address, WireClient } from "../lib/wire.js";

const CHANNEL = "catchup";
const MEMBER = { username: "catchupmember", password: "bench-member-password" };
/** Stored before the member first joins, so its stored position is not 0. */
const BEFORE = 100;
const MISSED_FULL = 10_000;
const MISSED_QUICK = 2_000;
/** The verified catch-up of MISSED_FULL messages, from the "signed in" line, must take less than this. */
const VERIFIED_TARGET_S = 1;
const START_TIMEOUT_MS = 60_000;
/** Slowest catch-up that does not count as hung: a fixed allowance plus this many messages a second. */
const SLOWEST_RATE = 1_000;

/**
 * A message line of CHANNEL as the CLI prints it without colour (src/cli/format.ts): `[channel]
 * HH:MM sender: text`. The bench's texts start with their position in the fill (history-client.ts).
 */
const MESSAGE_LINE = new RegExp(`^\\[${CHANNEL}\\] (?:\\d\\d:\\d\\d|--:--) ${OWNER.username}: (\\d+) `);
const MESSAGE_PREFIX = `[${CHANNEL}] `;

interface CliRun {
  wallMs: number;
  cpuMs: number;
  /** From the `signed in as` line to the last message line: the catch-up without the process start. */
  afterSignInMs: number;
  cpuAtSignedInMs: number;
  spawnToSignedInMs: number;
  spawnToJoinedMs: number;
  maxRssMB: number;
}

interface BaselineRun {
  wallMs: number;
  /** From the SIGNIN answer to the last HISTORY page. */
  afterSignInMs: number;
  /** From the SIGNIN answer until every message received was also verified (tracker KEY, then MessageVerifier.check each). */
  verifiedAfterSignInMs: number;
  cpuMs: number;
}

/** The shipped member CLI (with the shell) printing a catch-up of 10,000 messages missed while it was away. */
export const cliCatchUpScenario: Scenario = {
  name: "cli-catch-up",
  baseline:
    "a bare WireClient in the bench process: HELLO and SIGNIN (with its device key's proof) on the tracker, HELLO and CONNECT (with a proof) to the host with the same `since`, HISTORY pages of 500 until it has the same messages (history-client.ts), timed from opening the tracker connection; its CPU is the bench process's. For the verified row it then asks the tracker for its KEY and checks every message with MessageVerifier.check, as the member's client does",
  async run(context) {
    const runs = context.quick ? 1 : 3;
    const missed = context.quick ? MISSED_QUICK : MISSED_FULL;
    const tracker = await startTracker(joinPath(context.workDir, "tracker"));
    const author = await signUpAndIn(tracker.ready.address, OWNER);
    const host = await startHost({
      workDir: context.workDir,
      name: "host-catchup",
      tracker: tracker.ready.address,
      channel: CHANNEL,
    });
    try {
      const owner = await join(host.ready.address, CHANNEL, author);
      try {
        await fillChannel(owner.client, CHANNEL, author, "before", BEFORE);
        // The member joins at the latest seq: its client store keeps that position.
        const info = await owner.client.request<{ latestSeq: number }>("RET_INFO", { channel: CHANNEL });
        const since = info.latestSeq;
        if (since !== BEFORE)
          context.integrityFailure(`cli-catch-up: ${since} messages stored, not ${BEFORE}`);
        const template = joinPath(context.workDir, "member-template");
        await firstJoin(tracker.ready.address, template);
        await fillChannel(owner.client, CHANNEL, author, "missed", missed);
        progress(`cli-catch-up: ${missed} messages stored while the member was away (its position ${since})`);
        const cliRuns: CliRun[] = [];
        const baselineRuns: BaselineRun[] = [];
        for (let run = 0; run < runs; run++) {
          const dataDir = joinPath(context.workDir, `member-run-${run}`);
          cpSync(template, dataDir, { recursive: true });
          const cli = await measureCli(context, tracker.ready.address, dataDir, missed);
          rmSync(dataDir, { recursive: true, force: true });
          const base = await measureBaseline(
            context,
            tracker.ready.address,
            host.ready.address,
            since,
            missed,
          );
          cliRuns.push(cli);
          baselineRuns.push(base);
          progress(
            `cli-catch-up: run ${run + 1}: CLI ${cli.wallMs.toFixed(0)} ms from spawn (signed in at ${cli.spawnToSignedInMs.toFixed(0)} ms, ` +
              `joined at ${cli.spawnToJoinedMs.toFixed(0)} ms), CPU ${cli.cpuMs.toFixed(0)} ms; ` +
              `baseline ${base.wallMs.toFixed(0)} ms, CPU ${base.cpuMs.toFixed(0)} ms; verified catch-up after sign-in: ` +
              `CLI ${cli.afterSignInMs.toFixed(0)} ms, baseline ${base.verifiedAfterSignInMs.toFixed(0)} ms`,
          );
        }
        recordRows(context, missed, cliRuns, baselineRuns);
      } finally {
        await owner.client.close();
      }
    } finally {
      await host.stop();
      await tracker.stop();
    }
  },
};

/** The member's first start: signs up, `/join`s the channel in the shell and stops once joined. */
async function firstJoin(tracker: Address, dataDir: string): Promise<void> {
  const cli = MemberCli.start({
    name: "member CLI (first join)",
    dataDir,
    tracker,
    account: MEMBER,
    signup: true,
  });
  try {
    await cli.waitForLine((line) => line.startsWith("signed in as "), START_TIMEOUT_MS, "sign-in");
    const joined = cli.waitForLine((line) => line.startsWith(`joined ${CHANNEL} `), START_TIMEOUT_MS, "join");
    cli.type(`/join ${CHANNEL}`);
    await joined;
  } finally {
    await cli.stop();
  }
}

/**
 * Starts the member's CLI on a copy of its stored state and counts the message lines of the
 * channel it prints; done at the `missed`-th. Every line must show the next message, in order, and
 * none may follow the last one before the CLI exits.
 */
async function measureCli(
  context: ScenarioContext,
  tracker: Address,
  dataDir: string,
  missed: number,
): Promise<CliRun> {
  let printed = 0;
  let problem: string | undefined;
  let lastUs = 0;
  let cpuUs = 0;
  let maxRssBytes = 0;
  let markDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  const cli = MemberCli.start({ name: "member CLI", dataDir, tracker, account: MEMBER, signup: false });
  let cpuAtSignedInUs = 0;
  cli.onLine((line, receivedUs) => {
    if (cpuAtSignedInUs === 0 && line.startsWith("signed in as ")) cpuAtSignedInUs = cli.stats().cpuUs;
    if (!line.startsWith(MESSAGE_PREFIX)) return;
    const match = MESSAGE_LINE.exec(line);
    if (match === null) return;
    const position = Number(match[1]);
    if (problem === undefined && position !== printed) {
      problem =
        position < printed
          ? `line ${printed} shows message ${position} again (duplicate or out of order)`
          : `line ${printed} shows message ${position} (missing ${printed}..${position - 1})`;
    }
    printed += 1;
    if (printed === missed) {
      lastUs = receivedUs;
      const stats = cli.stats();
      cpuUs = stats.cpuUs;
      maxRssBytes = stats.maxRssBytes;
      markDone();
    }
  });
  const signedIn = cli.waitForLine((line) => line.startsWith("signed in as "), START_TIMEOUT_MS, "sign-in");
  const joined = cli.waitForLine((line) => line.startsWith(`joined ${CHANNEL} `), START_TIMEOUT_MS, "join");
  const exitedEarly = cli.closed.then(() => {
    throw new Error(`member CLI exited after ${printed} of ${missed} message lines`);
  });
  try {
    const [signedInUs, joinedUs] = await withDeadline(
      Promise.all([signedIn, joined, Promise.race([done, exitedEarly])]),
      START_TIMEOUT_MS + (missed / SLOWEST_RATE) * 1000,
      `member CLI printing ${missed} messages`,
    );
    return {
      wallMs: (lastUs - cli.spawnedUs) / 1000,
      cpuMs: cpuUs / 1000,
      afterSignInMs: (lastUs - signedInUs) / 1000,
      cpuAtSignedInMs: cpuAtSignedInUs / 1000,
      spawnToSignedInMs: (signedInUs - cli.spawnedUs) / 1000,
      spawnToJoinedMs: (joinedUs - cli.spawnedUs) / 1000,
      maxRssMB: maxRssBytes / 1e6,
    };
  } finally {
    // Lines printed after the last one are still counted until the CLI has exited.
    await cli.stop();
    if (problem !== undefined) context.integrityFailure(`cli-catch-up: ${problem}`);
    if (printed !== missed)
      context.integrityFailure(`cli-catch-up: ${printed} message lines printed, expected ${missed}`);
  }
}

/**
 * The same catch-up by a bare client: sign in, CONNECT with `since`, HISTORY pages; then, untimed
 * for the other rows, the tracker's KEY and a check of every message received (the verified row).
 */
async function measureBaseline(
  context: ScenarioContext,
  tracker: Address,
  host: Address,
  since: number,
  missed: number,
): Promise<BaselineRun> {
  const startUs = nowUs();
  const startCpu = process.cpuUsage();
  const trackerClient = await WireClient.open(tracker);
  try {
    // Its own device: the member's CLI keeps its tickets.
    const member = await signIn(trackerClient, MEMBER, deviceIdFor(`${MEMBER.username}-baseline`));
    const signedInUs = nowUs();
    const { client, seqs, messages } = await catchUp(host, CHANNEL, member, since, true);
    const endUs = nowUs();
    const cpu = process.cpuUsage(startCpu);
    const verifier = await trackerVerifier(trackerClient);
    let unverified = 0;
    for (const message of messages) if (verifier.check(message, CHANNEL) !== null) unverified += 1;
    const verifiedUs = nowUs();
    await client.close();
    const problem = checkSeqs(seqs, since + 1, missed);
    if (problem !== null) context.integrityFailure(`cli-catch-up baseline: ${problem}`);
    if (unverified > 0)
      context.integrityFailure(
        `cli-catch-up baseline: ${unverified} of ${messages.length} messages did not verify`,
      );
    return {
      wallMs: (endUs - startUs) / 1000,
      afterSignInMs: (endUs - signedInUs) / 1000,
      verifiedAfterSignInMs: (verifiedUs - signedInUs) / 1000,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    await trackerClient.close();
  }
}

function recordRows(context: ScenarioContext, missed: number, cli: CliRun[], baseline: BaselineRun[]): void {
  const scenario = "cli catch-up";
  const what = `${missed.toLocaleString("en-US")} missed`;
  const perSecond = (wallMs: number): number => missed / (wallMs / 1000);
  const details = {
    missed,
    storedBefore: BEFORE,
    spawnToSignedInMs: cli.map((run) => run.spawnToSignedInMs),
    memberCpuAtSignedInMs: cli.map((run) => run.cpuAtSignedInMs),
    spawnToJoinedMs: cli.map((run) => run.spawnToJoinedMs),
    memberMaxRssMB: cli.map((run) => run.maxRssMB),
  };
  const row = (
    metric: string,
    unit: string,
    hychatRuns: number[],
    baselineRuns: number[],
    target?: Target,
  ): void => context.record(medianRow({ scenario, metric, unit, hychatRuns, baselineRuns, target, details }));
  row(
    `member's CLI shell printing ${what}, spawn to last line`,
    "msg/s",
    cli.map((run) => perSecond(run.wallMs)),
    baseline.map((run) => perSecond(run.wallMs)),
  );
  row(
    `member's CLI shell printing ${what}, spawn to last line`,
    "ms",
    cli.map((run) => run.wallMs),
    baseline.map((run) => run.wallMs),
  );
  row(
    `the same from its "signed in" line (baseline: from the SIGNIN answer)`,
    "msg/s",
    cli.map((run) => perSecond(run.afterSignInMs)),
    baseline.map((run) => perSecond(run.afterSignInMs)),
  );
  // The member's client checks every message (certificate and signature) before it prints it.
  row(
    `${missed.toLocaleString("en-US")}-message catch-up, verified, from the member's "signed in" line to the last line (baseline: a bare client from the SIGNIN answer, then KEY and MessageVerifier.check of each)`,
    "s",
    cli.map((run) => run.afterSignInMs / 1000),
    baseline.map((run) => run.verifiedAfterSignInMs / 1000),
    // The target is set for the full run's count; a quick run catches up fewer.
    missed === MISSED_FULL ? { subject: "hychat", op: "<", value: VERIFIED_TARGET_S } : undefined,
  );
  row(
    `member CPU, spawn to last line`,
    "ms",
    cli.map((run) => run.cpuMs),
    baseline.map((run) => run.cpuMs),
  );
}
