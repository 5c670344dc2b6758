import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { LineFramer } from "../../src/protocol/framer.js";
import { BUILD_DIR } from "./build.js";
import type { ProcessStats } from "./child.js";
import { nowUs } from "./clock.js";
import { withDeadline } from "./deadline.js";
import { procStats } from "./proc-stats.js";
import { profileDirFor, trackChild } from "./processes.js";
import type { Address } from "./wire.js";

export interface MemberCliOptions {
  /** Shown in errors. */
  name: string;
  dataDir: string;
  tracker: Address;
  account: { username: string; password: string };
  /** `--signup`: create the account on the first start (signs in when it exists). */
  signup: boolean;
}

/** Called with every line the CLI prints and when the chunk holding it arrived (monotonic microseconds). */
export type LineHandler = (line: string, receivedUs: number) => void;

const PASSWORD_VARIABLE = "HYCHAT_BENCH_MEMBER_PASSWORD";
/** Longest line kept while splitting standard output (a message line is a few hundred bytes). */
const MAX_LINE_BYTES = 1024 * 1024;
const EXIT_GRACE_MS = 10_000;

/**
 * A member's `hychat peer` as a user starts it: the CLI's own entry point with the interactive shell
 * (not `--headless`), standard input a pipe the bench writes commands to and keeps open (the shell
 * ends at the end of its input), standard output split into lines as it arrives and handed to the
 * caller one by one, never held whole. Measured from outside, through /proc; with `--profile
 * member-cli` it is profiled as a whole (`--cpu-prof`, written when it exits).
 */
export class MemberCli {
  /** When the process was spawned (monotonic microseconds). */
  readonly spawnedUs: number;
  private readonly child: ChildProcess;
  /** Resolves once the process exited and its standard output was read to the end. */
  readonly closed: Promise<void>;
  private readonly handlers: LineHandler[] = [];
  private chunkUs = 0;

  private constructor(private readonly options: MemberCliOptions) {
    const profileDir = profileDirFor("member-cli");
    const args = [
      ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
      join(BUILD_DIR, "src", "cli", "main.js"),
      "peer",
      "--tracker",
      `${options.tracker.host}:${options.tracker.port}`,
      "--username",
      options.account.username,
      "--password-env",
      PASSWORD_VARIABLE,
      "--data-dir",
      options.dataDir,
      ...(options.signup ? ["--signup"] : []),
    ];
    this.spawnedUs = nowUs();
    this.child = spawn(process.execPath, args, {
      stdio: ["pipe", "pipe", 2],
      env: { ...process.env, [PASSWORD_VARIABLE]: options.account.password, NO_COLOR: "1" },
    });
    trackChild(this.child);
    // A shell that already exited must not fail the bench through a write to its closed input.
    this.child.stdin?.on("error", () => {});
    this.child.once("error", (error) => process.stderr.write(`${options.name}: ${error.message}\n`));
    this.closed = new Promise<void>((resolve) => this.child.once("close", () => resolve()));
    const framer = new LineFramer(
      {
        onLine: (line) => {
          for (const handler of this.handlers) handler(line, this.chunkUs);
        },
        onOversize: (bytes) => {
          process.stderr.write(`${options.name}: a line of over ${bytes} bytes on standard output\n`);
        },
      },
      MAX_LINE_BYTES,
    );
    this.child.stdout?.on("data", (chunk: Buffer) => {
      this.chunkUs = nowUs();
      framer.push(chunk);
    });
  }

  static start(options: MemberCliOptions): MemberCli {
    return new MemberCli(options);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Adds a handler for every line printed from now on. */
  onLine(handler: LineHandler): void {
    this.handlers.push(handler);
  }

  /** Resolves with the receipt time of the first line (from now on) that `matches`; fails if the CLI exits first. */
  waitForLine(matches: (line: string) => boolean, timeoutMs: number, what: string): Promise<number> {
    let settle: ((receivedUs: number) => void) | undefined;
    const seen = new Promise<number>((resolve, reject) => {
      settle = resolve;
      void this.closed.then(() => reject(new Error(`${this.options.name} exited before ${what}`)));
    });
    this.onLine((line, receivedUs) => {
      if (settle !== undefined && matches(line)) {
        settle(receivedUs);
        settle = undefined;
      }
    });
    return withDeadline(seen, timeoutMs, `${this.options.name}: ${what}`);
  }

  /** Types a line into the shell. */
  type(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** CPU time and memory so far, from /proc. */
  stats(): ProcessStats {
    return procStats(this.pid);
  }

  /**
   * SIGTERM, as a user's Ctrl-C, then waits until the process exited and every line it printed was
   * handled; killed if it does not exit in time.
   */
  async stop(): Promise<void> {
    if (this.running) this.child.kill("SIGTERM");
    try {
      await withDeadline(this.closed, EXIT_GRACE_MS, `${this.options.name} exit`);
    } catch {
      this.child.kill("SIGKILL");
      await withDeadline(this.closed, EXIT_GRACE_MS, `${this.options.name} kill`);
    }
  }
}
