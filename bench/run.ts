/**
 * hychat benchmarks: `npm run bench [-- --quick] [--only NAME[,NAME]] [--profile SCRIPT[,SCRIPT] [--profile-dir D]]`.
 * `--profile host` writes a CPU profile of every measured window of each host process.
 * Real processes on 127.0.0.1; progress on standard error, a markdown table on standard output,
 * everything in bench/results.json. Exits non-zero when a message was lost, duplicated or
 * reordered, or a scenario failed. Every child process is killed at the end, even on failure.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUILD_DIR, buildForBench } from "./lib/build.js";
import { openFileLimit } from "./lib/fd-limit.js";
import { describeError } from "./lib/ipc.js";
import { killAllChildren, profileChildren, runChildrenFrom } from "./lib/processes.js";
import { progress } from "./lib/progress.js";
import type { ResultRow } from "./lib/results.js";
import { meetsTarget } from "./lib/results.js";
import type { Scenario } from "./lib/scenario.js";
import { markdownTable, resultsTable } from "./lib/table.js";
import { cliCatchUpScenario } from "./scenarios/cli-catch-up.js";
import { fanoutScenario } from "./scenarios/fanout.js";
import { historyScenario } from "./scenarios/history.js";
import { lowLatencyScenario } from "./scenarios/low-latency.js";
import { memoryScenario } from "./scenarios/memory.js";
import { outboxScenario } from "./scenarios/outbox.js";
import { reconnectScenario } from "./scenarios/reconnect.js";
import { signaturesScenario } from "./scenarios/signatures.js";
import { signinScenario } from "./scenarios/signin.js";
import { trackerChannelsScenario } from "./scenarios/tracker-channels.js";
import { trackerIdleScenario } from "./scenarios/tracker-idle.js";
import { trackerListScenario } from "./scenarios/tracker-list.js";

const SCENARIOS: Scenario[] = [
  fanoutScenario,
  lowLatencyScenario,
  historyScenario,
  cliCatchUpScenario,
  signaturesScenario,
  outboxScenario,
  trackerListScenario,
  trackerIdleScenario,
  trackerChannelsScenario,
  signinScenario,
  memoryScenario,
  reconnectScenario,
];

/** Open files the tracker scenario needs in one process (10,000 connections and some slack). */
const WANTED_OPEN_FILES = 12_000;
const RAISED_MARK = "HYCHAT_BENCH_FD_RAISED";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

function raiseOpenFileLimit(): boolean {
  const limit = openFileLimit();
  if (limit.soft >= WANTED_OPEN_FILES || limit.hard < WANTED_OPEN_FILES || process.env[RAISED_MARK]) {
    return false;
  }
  // Node cannot raise its own limit: run again under a shell that does.
  const result = spawnSync(
    "/bin/sh",
    [
      "-c",
      `ulimit -n ${WANTED_OPEN_FILES} && exec "$0" "$@"`,
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: "inherit", env: { ...process.env, [RAISED_MARK]: "1" } },
  );
  process.exitCode = result.status ?? 1;
  return true;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      profile: { type: "string" },
      "profile-dir": { type: "string" },
    },
  });
  const only = values.only?.split(",").map((name) => name.trim());
  const unknown = only?.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown scenario(s) ${unknown.join(", ")}; known: ${SCENARIOS.map((s) => s.name).join(", ")}\n`,
    );
    process.exitCode = 2;
    return;
  }
  const selected = SCENARIOS.filter((scenario) => only === undefined || only.includes(scenario.name));
  const workDir = mkdtempSync(join(tmpdir(), "hychat-bench-"));
  if (values.profile !== undefined) {
    const profileDir = values["profile-dir"] ?? join(tmpdir(), "hychat-bench-profiles");
    mkdirSync(profileDir, { recursive: true });
    profileChildren(values.profile.split(","), profileDir);
    progress(`CPU profiles of ${values.profile} go to ${profileDir}`);
  }
  const files = buildForBench();
  runChildrenFrom(BUILD_DIR);
  progress(`transpiled ${files} files to ${BUILD_DIR}; bench processes run as plain JavaScript`);
  const rows: ResultRow[] = [];
  const integrityFailures: string[] = [];
  const scenarioFailures: string[] = [];
  const startedAt = new Date();
  progress(`${values.quick ? "quick" : "full"} run: ${selected.map((s) => s.name).join(", ")}`);
  try {
    for (const scenario of selected) {
      const scenarioDir = join(workDir, scenario.name);
      mkdirSync(scenarioDir);
      progress(`${scenario.name}: start`);
      try {
        await scenario.run({
          quick: values.quick,
          workDir: scenarioDir,
          record: (row) => rows.push(row),
          integrityFailure: (text) => {
            integrityFailures.push(text);
            progress(`INTEGRITY FAILURE ${text}`);
          },
        });
        progress(`${scenario.name}: done`);
      } catch (error) {
        scenarioFailures.push(`${scenario.name}: ${describeError(error)}`);
        progress(`${scenario.name} FAILED: ${describeError(error)}`);
      }
      killAllChildren();
    }
  } finally {
    killAllChildren();
    rmSync(workDir, { recursive: true, force: true });
  }
  const output = [
    `## hychat benchmarks (${values.quick ? "quick" : "full"} run, ${startedAt.toISOString()})`,
    "",
    `Node ${process.version}, ${cpus().length} CPUs; figures are medians of the runs; each baseline was measured in the same run.`,
    "",
    resultsTable(rows),
    "Baselines:",
    "",
    markdownTable(
      ["scenario", "baseline"],
      selected.map((scenario) => [scenario.name, scenario.baseline]),
    ),
  ];
  if (integrityFailures.length > 0)
    output.push(
      `**Integrity failures (${integrityFailures.length}):**`,
      "",
      ...integrityFailures.map((text) => `- ${text}`),
      "",
    );
  if (scenarioFailures.length > 0)
    output.push(
      `**Failed scenarios:**`,
      "",
      ...scenarioFailures.map((text) => `- ${text.split("\n")[0]}`),
      "",
    );
  process.stdout.write(`${output.join("\n")}\n`);
  const results = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    mode: values.quick ? "quick" : "full",
    scenarios: selected.map((scenario) => ({ name: scenario.name, baseline: scenario.baseline })),
    node: process.version,
    cpus: cpus().length,
    rows: rows.map((row) => ({ ...row, pass: meetsTarget(row) ?? null })),
    integrityFailures,
    scenarioFailures,
  };
  writeFileSync(join(BENCH_DIR, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  progress(`results written to ${join(BENCH_DIR, "results.json")}`);
  if (integrityFailures.length > 0 || scenarioFailures.length > 0) process.exitCode = 1;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

if (!raiseOpenFileLimit()) {
  try {
    await main();
  } catch (error) {
    progress(`bench failed: ${describeError(error)}`);
    process.exitCode = 1;
  } finally {
    killAllChildren();
  }
}
