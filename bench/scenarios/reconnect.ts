import { createServer } from "node:net";
import { join } from "node:path";
import type { BackoffOptions } from "../../src/util/backoff.js";
import { nowUs } from "../lib/clock.js";
import { portable } from "../lib/credentials.js";
import { procCpuTicks, ticksToUs } from "../lib/proc-stats.js";
import { BenchChild } from "../lib/processes.js";
import { progress } from "../lib/progress.js";
import { medianRow } from "../lib/results.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import { type HostStackOptions, OWNER, signUp, signUpAndIn, startHost, startTracker } from "../lib/stacks.js";
import { percentile } from "../lib/stats.js";
import type { HostReady } from "../processes/host.js";
import type { CohortSetup, EpochOutcome } from "../processes/reconnecting-members.js";

const CHANNEL = "reconnect";
/** Short, so the redial cadence after the host is back (at most 500 ms) is not what is measured. */
const BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 500, factor: 2, jitter: 0.5 };
/** One signed-in user for every member: the host accepts many connections per user. */
const MEMBER = { username: "reconnectmember", password: "bench-member-password" };
/** An unmeasured cohort first, so the members process's client code is past its JIT warm-up. */
const WARM_UP_MEMBERS = 50;
/** How long every member may take to be back, on top of a fixed allowance. */
const BACK_MS_PER_MEMBER = 20;
const RESTART_GRACE_MS = 15_000;

type Host = BenchChild<HostReady>;

/** One cold start and one host restart of the same N members. */
interface Cycle {
  coldMs: number;
  backFromReadyMs: number;
  backFromListeningMs: number;
  coldHostCpuUs: number;
  stormHostCpuUs: number;
  cold: EpochOutcome;
  back: EpochOutcome;
  /** Host down: SIGTERM until the old process exited, and until the new one listened and was listed. */
  exitMs: number;
  listeningMs: number;
  readyMs: number;
  /** Members whose CONNECT was answered before the new host's ready message. */
  backBeforeReady: number;
}

/**
 * A host restart with 1,000 members (quick: 200): a bare host process and a process of members on
 * the real client code; SIGTERM the host, start it again on the same port and data dir, and time
 * until every member has CONNECTed again.
 */
export const reconnectScenario: Scenario = {
  name: "reconnect",
  baseline:
    "the cold start of the same N members against the same host process: fresh HostConnectionPools (no TLS session, full handshakes), all dialing at once, timed from the first dial to the last CONNECT answer. Each member has its own pool (real ReconnectingClient, its own TLS link and kept session), backoff { initialMs: 50, maxMs: 500, factor: 2, jitter: 0.5 }, and all send one signed-in user's ticket (so one PRESENCE, not N), each CONNECT with its own proof of the ticket's key over its connection's HELLO challenge. The restart: SIGTERM (graceful close), the host started again on the same port and data dir (key, ticket keys, channel); time from its ready message (channel listed) to the last member's CONNECT answer; host CPU from /proc, from its listening to the last member back",
  async run(context) {
    const count = context.quick ? 200 : 1_000;
    const runs = context.quick ? 1 : 3;
    const tracker = await startTracker(join(context.workDir, "tracker"));
    let host: Host | undefined;
    let load: BenchChild | undefined;
    try {
      await signUp(tracker.ready.address, OWNER);
      const member = portable(await signUpAndIn(tracker.ready.address, MEMBER));
      const hostOptions: HostStackOptions = {
        workDir: context.workDir,
        name: "host-reconnect",
        tracker: tracker.ready.address,
        channel: CHANNEL,
        dataDir: join(context.workDir, "host-reconnect"),
        limits: { maxConnections: count + 100 },
        // Fixed from the first start: members come back to the address they know (see `freePort`).
        listenPort: await freePort(),
      };
      host = await startHost(hostOptions);
      const endpoint = { address: host.ready.address, fingerprint: host.ready.fingerprint };
      load = await BenchChild.start("reconnecting-members.ts", { name: "reconnecting members" });
      const setup = (members: number): CohortSetup => ({
        endpoint,
        channel: CHANNEL,
        member,
        count: members,
        backoff: BACKOFF,
      });
      const timeoutMs = 30_000 + count * BACK_MS_PER_MEMBER;

      await load.call("dial", setup(WARM_UP_MEMBERS));
      const warm = await load.call<EpochOutcome>("wait", { timeoutMs }, timeoutMs + 10_000);
      checkEpoch(context, `reconnect warm-up (${WARM_UP_MEMBERS} members)`, warm, []);
      const warmClosed = await load.call<{ late: string[] }>(
        "closeCohort",
        { timeoutMs },
        timeoutMs + 10_000,
      );
      checkEpoch(context, "reconnect warm-up close", undefined, warmClosed.late);
      if (warm.handshakes.full + warm.handshakes.resumed === 0)
        progress("reconnect: no TLS handshake was observed on the members' sockets; resumption not counted");

      const cycles: Cycle[] = [];
      for (let run = 0; run < runs; run++) {
        const label = `reconnect N=${count} run ${run + 1}`;
        const current: Host = host;
        await current.profileStart();
        const coldTicks = procCpuTicks(current.ready.pid);
        await load.call("dial", setup(count));
        const cold = await load.call<EpochOutcome>("wait", { timeoutMs }, timeoutMs + 10_000);
        const coldHostCpuUs = ticksToUs(procCpuTicks(current.ready.pid) - coldTicks);
        await current.profileStop(`cold-${run}`);
        const coldComplete = checkEpoch(context, `${label} cold start`, cold, []);

        const armed = await load.call<{ late: string[] }>("arm");
        checkEpoch(context, `${label} after the cold start`, undefined, armed.late);
        const sigtermUs = nowUs();
        const graceful = await current.terminate(RESTART_GRACE_MS);
        const exitedUs = nowUs();
        if (!graceful)
          throw new Error(
            `${label}: the host did not close and exit 0 within ${RESTART_GRACE_MS} ms of SIGTERM`,
          );
        host = await startHost(hostOptions);
        const restarted: Host = host;
        if (restarted.ready.fingerprint !== endpoint.fingerprint)
          throw new Error(
            `${label}: the restarted host presents ${restarted.ready.fingerprint}, not ${endpoint.fingerprint}`,
          );
        if (restarted.ready.address.port !== endpoint.address.port)
          throw new Error(
            `${label}: the restarted host listens on ${restarted.ready.address.port}, not ${endpoint.address.port}`,
          );
        // With `--profile host`: from the ready message (no member was back before it in any run seen).
        await restarted.profileStart();
        const back = await load.call<EpochOutcome>("wait", { timeoutMs }, timeoutMs + 10_000);
        const stormHostCpuUs = ticksToUs(
          procCpuTicks(restarted.ready.pid) - restarted.ready.listeningCpuTicks,
        );
        await restarted.profileStop(`restart-${run}`);
        const backComplete = checkEpoch(context, `${label} host restart`, back, []);
        const closed = await load.call<{ late: string[] }>("closeCohort", { timeoutMs }, timeoutMs + 10_000);
        checkEpoch(context, `${label} after the restart`, undefined, closed.late);

        const cycle: Cycle = {
          coldMs: (cold.lastBackUs - cold.startUs) / 1000,
          backFromReadyMs: (back.lastBackUs - restarted.ready.readyUs) / 1000,
          backFromListeningMs: (back.lastBackUs - restarted.ready.listeningUs) / 1000,
          coldHostCpuUs,
          stormHostCpuUs,
          cold,
          back,
          exitMs: (exitedUs - sigtermUs) / 1000,
          listeningMs: (restarted.ready.listeningUs - sigtermUs) / 1000,
          readyMs: (restarted.ready.readyUs - sigtermUs) / 1000,
          backBeforeReady: back.backMs.filter((ms) => back.startUs + ms * 1000 < restarted.ready.readyUs)
            .length,
        };
        progress(
          `reconnect: N=${count} run ${run + 1}: cold start ${cycle.coldMs.toFixed(0)} ms (host CPU ${(coldHostCpuUs / 1000).toFixed(0)} ms, ` +
            `${cold.handshakes.full} full / ${cold.handshakes.resumed} resumed handshakes); restart: exit ${cycle.exitMs.toFixed(0)} ms, ` +
            `listening ${cycle.listeningMs.toFixed(0)} ms and listed ${cycle.readyMs.toFixed(0)} ms after SIGTERM; all back ` +
            `${cycle.backFromReadyMs.toFixed(0)} ms after ready (${cycle.backFromListeningMs.toFixed(0)} ms after listening, ` +
            `${cycle.backBeforeReady} before ready), host CPU ${(stormHostCpuUs / 1000).toFixed(0)} ms, ` +
            `${back.handshakes.full} full / ${back.handshakes.resumed} resumed handshakes, ${back.failedDials} refused redials`,
        );
        if (coldComplete && backComplete) cycles.push(cycle);
      }
      recordRows(context, count, cycles);
    } finally {
      await load?.stop();
      await host?.stop();
      await tracker.stop();
    }
  },
};

/**
 * A port nothing listens on now, for the host's first start and its restart alike, as a host that
 * remembers its port (`--peer-host-port`, or the last port) comes back where members last reached it.
 */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port === 0 ? reject(new Error("no free port")) : resolve(port)));
    });
  });
}

/** Reports what went wrong in an epoch (a member not back, back twice, dropped wrongly) and late changes; true when the epoch is clean. */
function checkEpoch(
  context: ScenarioContext,
  label: string,
  outcome: EpochOutcome | undefined,
  late: string[],
): boolean {
  const failures = [...late.map((text) => `after the epoch: ${text}`)];
  if (outcome !== undefined) {
    if (outcome.back < outcome.members)
      failures.push(
        `${outcome.members - outcome.back} of ${outcome.members} members not back by the deadline`,
      );
    if (outcome.repeated > 0) failures.push(`${outcome.repeated} members CONNECTed more than once`);
    if (outcome.droppedWrongly > 0)
      failures.push(
        `${outcome.droppedWrongly} members' links dropped other than the expected number of times`,
      );
    failures.push(...outcome.errors);
  }
  for (const failure of failures) context.integrityFailure(`${label}: ${failure}`);
  return failures.length === 0;
}

function recordRows(context: ScenarioContext, count: number, cycles: Cycle[]): void {
  const scenario = `reconnect N=${count}`;
  const members = count.toLocaleString("en-US");
  const pick = (value: (cycle: Cycle) => number) => cycles.map(value);
  const details = {
    members: count,
    backoff: BACKOFF,
    backFromListeningMs: pick((cycle) => cycle.backFromListeningMs),
    backBeforeReady: pick((cycle) => cycle.backBeforeReady),
    hostExitMs: pick((cycle) => cycle.exitMs),
    sigtermToListeningMs: pick((cycle) => cycle.listeningMs),
    sigtermToReadyMs: pick((cycle) => cycle.readyMs),
    coldP50Ms: pick((cycle) => percentile(cycle.cold.backMs, 50)),
    restartBackP50FromSigtermMs: pick((cycle) => percentile(cycle.back.backMs, 50)),
    refusedRedials: pick((cycle) => cycle.back.failedDials),
    connectsLost: pick((cycle) => cycle.back.connectsLost + cycle.cold.connectsLost),
    coldHandshakes: cycles.map((cycle) => cycle.cold.handshakes),
    restartHandshakes: cycles.map((cycle) => cycle.back.handshakes),
    membersCpuColdMs: pick((cycle) => cycle.cold.cpuUs / 1000),
    membersCpuRestartMs: pick((cycle) => cycle.back.cpuUs / 1000),
  };
  const row = (metric: string, unit: string, hychatRuns: number[], baselineRuns: number[]): void =>
    context.record(medianRow({ scenario, metric, unit, hychatRuns, baselineRuns, details }));
  row(
    `all ${members} members back after a host restart, from its ready message (baseline: cold start, all dialing at once)`,
    "ms",
    pick((cycle) => cycle.backFromReadyMs),
    pick((cycle) => cycle.coldMs),
  );
  row(
    "host CPU for the reconnect storm, from listening to all back (baseline: for the cold start)",
    "ms",
    pick((cycle) => cycle.stormHostCpuUs / 1000),
    pick((cycle) => cycle.coldHostCpuUs / 1000),
  );
  // Only when the members' sockets were seen completing handshakes (the cold start's are all full).
  const observed = cycles.every((cycle) => cycle.cold.handshakes.full > 0);
  if (observed) {
    const resumedShare = (handshakes: { full: number; resumed: number }): number =>
      (100 * handshakes.resumed) / Math.max(1, handshakes.full + handshakes.resumed);
    row(
      "reconnect handshakes that resumed their TLS session (baseline: cold-start handshakes that did)",
      "%",
      pick((cycle) => resumedShare(cycle.back.handshakes)),
      pick((cycle) => resumedShare(cycle.cold.handshakes)),
    );
  }
}
