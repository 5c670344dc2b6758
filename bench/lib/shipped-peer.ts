import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { BUILD_DIR } from "./build.js";
import type { ProcessStats } from "./child.js";
import { withDeadline } from "./deadline.js";
import { procStats } from "./proc-stats.js";
import { profileDirFor, trackChild } from "./processes.js";
import { OWNER } from "./stacks.js";
import type { Address } from "./wire.js";

/** What the fan-out measures of the process that serves the channel, whatever started it. */
export interface MeasuredServer {
  stats(): Promise<ProcessStats>;
  /** A CPU profile of one measured window, for servers that can take one on request. */
  profileStart?(): Promise<void>;
  profileStop?(label: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ShippedPeerOptions {
  name: string;
  dataDir: string;
  tracker: Address;
  channel: string;
  /** With the interactive shell reading a pipe (it marks every printed message read), or `--headless`. */
  shell: boolean;
}

const PASSWORD_VARIABLE = "HYCHAT_BENCH_OWNER_PASSWORD";
const START_TIMEOUT_MS = 60_000;
const EXIT_GRACE_MS = 10_000;

/**
 * `hychat peer` as a user starts it: the CLI's own entry point, signed in as the owner, hosting one
 * channel (`--channel-name`), its own client joined to it and printing every message to standard
 * output, which the bench reads and discards. Measured from outside, through /proc; with
 * `--profile shipped-peer` it is profiled as a whole (`--cpu-prof`, written when it exits).
 */
export class ShippedPeer implements MeasuredServer {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly address: Address,
    exited: Promise<void>,
  ) {
    this.exited = exited;
  }

  static async start(options: ShippedPeerOptions): Promise<ShippedPeer> {
    const profileDir = profileDirFor("shipped-peer");
    const args = [
      ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]),
      join(BUILD_DIR, "src", "cli", "main.js"),
      "peer",
      "--tracker",
      `${options.tracker.host}:${options.tracker.port}`,
      "--username",
      OWNER.username,
      "--password-env",
      PASSWORD_VARIABLE,
      "--channel-name",
      options.channel,
      "--data-dir",
      options.dataDir,
      // Every member of the bench connects from loopback.
      "--max-per-address",
      "0",
      ...(options.shell ? [] : ["--headless"]),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ["pipe", "pipe", 2],
      env: { ...process.env, [PASSWORD_VARIABLE]: OWNER.password, NO_COLOR: "1" },
    });
    trackChild(child);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const hosting = new Promise<Address>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const pattern = new RegExp(`^hosting ${options.channel} on (.+):(\\d+)$`);
      lines.on("line", (line) => {
        const match = pattern.exec(line);
        if (match !== null) resolve({ host: match[1] as string, port: Number(match[2]) });
      });
      void exited.then(() => reject(new Error(`${options.name} exited before it was hosting`)));
    });
    try {
      const address = await withDeadline(hosting, START_TIMEOUT_MS, `${options.name} start`);
      return new ShippedPeer(child, address, exited);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }

  async stats(): Promise<ProcessStats> {
    return procStats(this.child.pid as number);
  }

  /** SIGTERM, as a user's Ctrl-C; killed if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    try {
      await withDeadline(this.exited, EXIT_GRACE_MS, "hychat peer exit");
    } catch {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}
