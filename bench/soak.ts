/**
 * hychat's abuse soak: `npm run soak [-- --seconds N] [--quiet-seconds N] [--intensity X] [--only A,B]`.
 *
 * Starts the real `hychat tracker` and a hosting `hychat peer --headless --channel-name soak`, both
 * with every limit at its default, then runs legitimate clients alone for `--quiet-seconds`
 * (default 10) and beside a mix of attacks for `--seconds` (default 60): connections holding
 * unfinished lines before sign-in, slow drips, many guests, pipelined SIGNUP floods, wrong
 * passwords against the legitimate user's name, HOST floods with long names, CACHE floods on the
 * host and a connection flood from one address (bench/soak/plan.ts says who sends what from where).
 * Prints a markdown table of the legitimate clients' sign-in and message latency and the servers'
 * RSS against stated bounds, and what the attacks sent and how it was refused. Exits non-zero when
 * a bound fails, a legitimate request was refused or failed, a message was lost, or the run failed.
 * Every child process is killed at the end, on success or failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildForBench } from "./lib/build.js";
import { describeError } from "./lib/ipc.js";
import { BenchChild, killAllChildren, runChildrenFrom } from "./lib/processes.js";
import { progress } from "./lib/progress.js";
import { type CliServer, startHostingPeer, startTracker } from "./soak/cli-servers.js";
import { SoakClient, type Target } from "./soak/links.js";
import { CpuMeter, RssSampler } from "./soak/meters.js";
import { HOST_FLOOD_USERS } from "./soak/plan.js";
import type { Account, AttackerConfig, AttackerResult, AttackName } from "./soak/processes/attacker.js";
import type { LegitimateConfig, PhaseFigures } from "./soak/processes/legitimate.js";
import { type PhaseName, type ServerFigures, verdict } from "./soak/report.js";

const SOAK_BUILD_DIR = fileURLToPath(new URL("../node_modules/.cache/hychat-soak/", import.meta.url));
const CHANNEL = "soak";
/** How often the servers' RSS is read. */
const SAMPLE_MS = 200;

const account = (username: string): Account => ({ username, password: `${username}-soak-password` });
const ACCOUNTS = {
  owner: account("soakowner"),
  /** The legitimate user who signs in every second, and whose name the wrong passwords try. */
  victim: account("alice"),
  sender: account("soakbob"),
  receiver: account("soakcarol"),
  hostFlood: Array.from({ length: HOST_FLOOD_USERS }, (_, index) => account(`hostflood${index}`)),
  cacheFlood: account("cacheflood"),
};

/** Two attacker processes, so the floods on requests do not slow the ones on connections down. */
const ATTACKERS: { name: string; attacks: AttackName[] }[] = [
  { name: "connection attacks", attacks: ["partialLines", "slowDrips", "connectionFlood"] },
  { name: "request attacks", attacks: ["guests", "signups", "wrongPasswords", "hostFlood", "cacheFlood"] },
];

/** The accounts the soak uses, created from 127.0.0.1 before anything is measured. */
async function signUpAccounts(tracker: Target): Promise<void> {
  const client = await SoakClient.open(tracker, undefined);
  try {
    const all = [
      ACCOUNTS.owner,
      ACCOUNTS.victim,
      ACCOUNTS.sender,
      ACCOUNTS.receiver,
      ...ACCOUNTS.hostFlood,
      ACCOUNTS.cacheFlood,
    ];
    await Promise.all(all.map((entry) => client.request("SIGNUP", entry, 120_000)));
  } finally {
    await client.close();
  }
}

function positiveNumber(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag} must be a positive number`);
  return parsed;
}

/** RSS of a server still running; undefined once it exited. */
function liveRss(server: CliServer): number | undefined {
  return server.running ? server.stats().rssBytes : undefined;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string" },
      "quiet-seconds": { type: "string" },
      intensity: { type: "string" },
      only: { type: "string" },
    },
  });
  const known = ATTACKERS.flatMap((attacker) => attacker.attacks);
  const only = values.only?.split(",").map((name) => name.trim());
  const unknown = only?.filter((name) => !known.includes(name as AttackName)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`unknown attack(s) ${unknown.join(", ")}; known: ${known.join(", ")}\n`);
    return 2;
  }
  const plan = ATTACKERS.map((attacker) => ({
    ...attacker,
    attacks: attacker.attacks.filter((name) => only === undefined || only.includes(name)),
  })).filter((attacker) => attacker.attacks.length > 0);
  const attackSeconds = positiveNumber(values.seconds, 60, "--seconds");
  const quietSeconds = positiveNumber(values["quiet-seconds"], 10, "--quiet-seconds");
  const intensity = positiveNumber(values.intensity, 1, "--intensity");
  const files = buildForBench(SOAK_BUILD_DIR);
  runChildrenFrom(SOAK_BUILD_DIR);
  progress(`transpiled ${files} files to ${SOAK_BUILD_DIR}`);
  const workDir = mkdtempSync(join(tmpdir(), "hychat-soak-"));
  const servers: CliServer[] = [];
  const children: BenchChild[] = [];
  try {
    const tracker = await startTracker(SOAK_BUILD_DIR, join(workDir, "tracker"));
    servers.push(tracker);
    progress(`hychat tracker on ${tracker.address.host}:${tracker.address.port}, default limits`);
    await signUpAccounts(tracker.address);
    const peer = await startHostingPeer(
      SOAK_BUILD_DIR,
      join(workDir, "peer"),
      tracker.address,
      ACCOUNTS.owner,
      CHANNEL,
    );
    servers.push(peer);
    progress(`hychat peer hosting ${CHANNEL} on ${peer.address.host}:${peer.address.port}, default limits`);
    const mix = only === undefined ? "the whole attack mix" : `only ${only.join(", ")}`;
    const targets = { tracker: tracker.address, host: peer.address, channel: CHANNEL };

    const legitimate = await BenchChild.start("../soak/processes/legitimate.ts", {
      name: "legitimate clients",
    });
    children.push(legitimate);
    const legitimateConfig: LegitimateConfig = {
      ...targets,
      victim: ACCOUNTS.victim,
      sender: ACCOUNTS.sender,
      receiver: ACCOUNTS.receiver,
    };
    await legitimate.call("setup", legitimateConfig, 120_000);
    const attackers = await Promise.all(
      plan.map((attacker) => BenchChild.start("../soak/processes/attacker.ts", { name: attacker.name })),
    );
    children.push(...attackers);
    await Promise.all(
      attackers.map((attacker, index) => {
        const config: AttackerConfig = {
          attacks: plan[index]?.attacks ?? [],
          targets,
          victim: ACCOUNTS.victim.username,
          hostFloodAccounts: ACCOUNTS.hostFlood,
          cacheFloodAccount: ACCOUNTS.cacheFlood,
          intensity,
        };
        return attacker.call("setup", config, 120_000);
      }),
    );

    const rss = {
      tracker: new RssSampler(() => liveRss(tracker)),
      host: new RssSampler(() => liveRss(peer)),
    };
    const cpu = new CpuMeter({
      tracker: async () => tracker.stats().cpuUs,
      host: async () => peer.stats().cpuUs,
      ...Object.fromEntries(
        attackers.map((attacker) => [
          `attacker: ${attacker.name}`,
          async () => (await attacker.stats()).cpuUs,
        ]),
      ),
      "legitimate clients": async () => (await legitimate.stats()).cpuUs,
      "this orchestrator": async () => {
        const usage = process.cpuUsage();
        return usage.user + usage.system;
      },
    });
    const sampling = setInterval(() => {
      for (const sampler of Object.values(rss)) sampler.sample();
    }, SAMPLE_MS);
    let attackResults: AttackerResult[];
    let legitimateResults: Record<PhaseName, PhaseFigures>;
    try {
      for (const sampler of Object.values(rss)) sampler.begin("quiet");
      await cpu.begin("quiet");
      await legitimate.call("start", { phase: "quiet" });
      progress(`quiet: legitimate clients alone for ${quietSeconds} s`);
      await wait(quietSeconds * 1000);

      for (const sampler of Object.values(rss)) sampler.begin("attack");
      await cpu.begin("attack");
      await legitimate.call("phase", { phase: "attack" });
      await Promise.all(attackers.map((attacker) => attacker.call("start")));
      progress(`attack: ${attackSeconds} s of ${mix} at intensity ${intensity}`);
      await wait(attackSeconds * 1000);
      await cpu.end();
      attackResults = await Promise.all(
        attackers.map((attacker) => attacker.call<AttackerResult>("stop", {}, 60_000)),
      );
      for (const sampler of Object.values(rss)) sampler.end();
      legitimateResults = await legitimate.call("stop", {}, 60_000);
    } finally {
      clearInterval(sampling);
    }
    const serverFigures = (server: CliServer, sampler: RssSampler): ServerFigures => ({
      phaseRssBytes: { quiet: sampler.peak("quiet"), attack: sampler.peak("attack") },
      peakRssBytes: server.stats().maxRssBytes,
    });
    const result = verdict({
      legitimate: legitimateResults,
      tracker: serverFigures(tracker, rss.tracker),
      host: serverFigures(peer, rss.host),
      cpu: cpu.figures(),
      attacks: attackResults.flatMap((entry) => entry.tallies),
      attackSeconds,
      attackerErrors: attackResults.flatMap((entry) => entry.errors),
    });
    const output = [
      `## hychat soak (${attackSeconds} s of ${mix} at intensity ${intensity}, after ${quietSeconds} s quiet; ${new Date().toISOString()})`,
      "",
      `Node ${process.version}, ${cpus().length} CPUs. \`hychat tracker\` and \`hychat peer --headless\` with default limits; attackers from 127.0.0.2 to 127.0.0.8, the legitimate clients from 127.0.0.9.`,
      "",
      result.table,
      'Attacks (counted by the attackers; "closed by the server" counts links it closed during the run):',
      "",
      result.attackTable,
      `Attack requests and connections refused, by code: ${result.refusedByCode}.`,
      "",
      result.failures.length === 0
        ? "**Every bound held.**"
        : `**FAILED:**\n\n${result.failures.map((text) => `- ${text}`).join("\n")}`,
      "",
    ];
    process.stdout.write(output.join("\n"));
    return result.failures.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    // The peer first: a tracker gone before it would only make it log a lost link.
    for (const server of servers.reverse()) await server.stop();
    killAllChildren();
    rmSync(workDir, { recursive: true, force: true });
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

try {
  process.exitCode = await main();
} catch (error) {
  progress(`soak failed: ${describeError(error)}`);
  process.exitCode = 1;
} finally {
  killAllChildren();
}
