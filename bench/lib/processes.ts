import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ProcessStats } from "./child.js";
import { withDeadline } from "./deadline.js";
import { isChildMessage, type ParentMessage } from "./ipc.js";

const live = new Set<ChildProcess>();
const SOURCE_PROCESSES_DIR = fileURLToPath(new URL("../processes/", import.meta.url));
/** Set by `runChildrenFrom`: children then run as JavaScript from there instead of under tsx. */
let builtProcessesDir: string | undefined;

/** Runs every child from the JavaScript build in `buildDir` (see lib/build.ts). */
export function runChildrenFrom(buildDir: string): void {
  builtProcessesDir = join(buildDir, "bench", "processes");
}

function childCommand(script: string): string[] {
  if (builtProcessesDir === undefined) return ["--import", "tsx", join(SOURCE_PROCESSES_DIR, script)];
  return [join(builtProcessesDir, script.replace(/\.ts$/, ".js"))];
}

/** Scripts whose measured windows are CPU-profiled, and where the profiles go (see `profileChildren`). */
let profiled = new Set<string>();
let profileDir = "";
let profileCount = 0;

/** Profiles the measured windows of every child started from one of `scripts` (`.cpuprofile` files). */
export function profileChildren(scripts: string[], dir: string): void {
  profiled = new Set(scripts.map((script) => (script.endsWith(".ts") ? script : `${script}.ts`)));
  profileDir = dir;
}

/** Where a process that is not a bench script writes its profile, if `name` was chosen with `--profile`. */
export function profileDirFor(name: string): string | undefined {
  return profiled.has(`${name}.ts`) ? profileDir : undefined;
}

/** Counts a process started outside `BenchChild` among those killed at the end of the run. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** How long a child may take to exit after it was asked to, before it is killed. */
const EXIT_GRACE_MS = 5_000;

export interface StartOptions {
  /** Shown in progress and errors. */
  name: string;
  args?: string[];
  env?: Record<string, string>;
  /** Extra flags for node, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

/** A bench process (a file in bench/processes/) driven over IPC. */
export class BenchChild<Ready = unknown> {
  readonly name: string;
  readonly ready: Ready;
  private readonly child: ChildProcess;
  private readonly calls = new Map<number, { resolve(data: unknown): void; reject(error: Error): void }>();
  private nextId = 1;
  private profiled = false;
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(name: string, child: ChildProcess, ready: Ready, exited: Promise<void>) {
    this.name = name;
    this.child = child;
    this.ready = ready;
    this.exited = exited;
    child.on("message", (message: unknown) => {
      if (!isChildMessage(message) || message.kind !== "reply") return;
      const call = this.calls.get(message.id);
      if (call === undefined) return;
      this.calls.delete(message.id);
      if (message.ok) call.resolve(message.data);
      else call.reject(new Error(`${name}: ${message.error}`));
    });
    void exited.then(() => {
      this.exitError ??= new Error(`${name} exited`);
      for (const call of this.calls.values()) call.reject(this.exitError);
      this.calls.clear();
    });
  }

  static async start<Ready>(script: string, options: StartOptions): Promise<BenchChild<Ready>> {
    const child = spawn(
      process.execPath,
      [...(options.nodeFlags ?? []), ...childCommand(script), ...(options.args ?? [])],
      { stdio: ["ignore", 2, 2, "ipc"], env: { ...process.env, ...options.env } },
    );
    live.add(child);
    let fatal: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        if (fatal === undefined && code !== 0 && signal === null) fatal = `exit code ${code}`;
        resolve();
      });
    });
    const ready = new Promise<Ready>((resolve, reject) => {
      child.on("message", (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.kind === "ready") resolve(message.data as Ready);
        if (message.kind === "fatal") {
          fatal = message.error;
          reject(new Error(`${options.name} failed: ${message.error}`));
        }
      });
      void exited.then(() =>
        reject(new Error(`${options.name} exited before it was ready (${fatal ?? "killed"})`)),
      );
      child.once("error", reject);
    });
    try {
      const data = await withDeadline(ready, options.readyTimeoutMs ?? 60_000, `${options.name} start`);
      const started = new BenchChild(options.name, child, data, exited);
      started.profiled = profiled.has(script);
      return started;
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }

  /** CPU time and memory of the process so far. */
  stats(): Promise<ProcessStats> {
    return this.call<ProcessStats>("stats");
  }

  call<T>(op: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exitError !== undefined) return Promise.reject(this.exitError);
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => this.calls.set(id, { resolve, reject }));
    const message: ParentMessage = { kind: "call", id, op, args };
    this.child.send(message);
    return withDeadline(result, timeoutMs, `${this.name} ${op}`).finally(() =>
      this.calls.delete(id),
    ) as Promise<T>;
  }

  /** Starts a CPU profile of a measured window when this child's script was chosen with `--profile`. */
  async profileStart(): Promise<void> {
    if (this.profiled) await this.call("profileStart");
  }

  /** Ends the profile started by `profileStart` and writes it as `<name>-<label>.cpuprofile`. */
  async profileStop(label: string): Promise<void> {
    if (!this.profiled) return;
    profileCount += 1;
    const file = `${String(profileCount).padStart(2, "0")}-${this.name}-${label}.cpuprofile`.replaceAll(
      /[^\w.-]+/g,
      "_",
    );
    await this.call("profileStop", { path: `${profileDir}/${file}` });
  }

  /** Asks the child to close (op `close`), then waits for it to exit; kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      await this.call("close", {}, EXIT_GRACE_MS);
      this.child.disconnect();
      await withDeadline(this.exited, EXIT_GRACE_MS, `${this.name} exit`);
    } catch {
      this.kill();
      await withDeadline(this.exited, EXIT_GRACE_MS, `${this.name} kill`);
    }
  }

  /**
   * SIGTERM, as a user's Ctrl-C, then waits for the exit; killed if it lingers. Resolves whether
   * the process exited by itself with status 0 within `graceMs`.
   */
  async terminate(graceMs = EXIT_GRACE_MS): Promise<boolean> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode === 0;
    this.child.kill("SIGTERM");
    try {
      await withDeadline(this.exited, graceMs, `${this.name} exit on SIGTERM`);
      return this.child.exitCode === 0;
    } catch {
      this.kill();
      await withDeadline(this.exited, EXIT_GRACE_MS, `${this.name} kill`);
      return false;
    }
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

/** Kills every child still running: called at the end of the run, on success or failure. */
export function killAllChildren(): void {
  for (const child of live) child.kill("SIGKILL");
}
