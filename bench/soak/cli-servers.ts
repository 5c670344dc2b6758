import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ProcessStats } from "../lib/child.js";
import { withDeadline } from "../lib/deadline.js";
import { procStats } from "../lib/proc-stats.js";
import { trackChild } from "../lib/processes.js";
import type { Target } from "./links.js";
import type { Account } from "./processes/attacker.js";

const START_TIMEOUT_MS = 60_000;
const EXIT_GRACE_MS = 10_000;
const PASSWORD_VARIABLE = "HYCHAT_SOAK_PASSWORD";

/**
 * A `hychat` command as a user starts it, from the transpiled build in `buildDir`, measured from
 * outside through /proc. Its standard output is read line by line (and otherwise dropped, so the
 * pipe never fills); its standard error is the soak's.
 */
export class CliServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    readonly address: Target,
  ) {}

  /** Starts `hychat ARGS` and waits for the first line matching `ready` (`HOST:PORT` in its groups 1 and 2). */
  static async start(
    name: string,
    buildDir: string,
    args: string[],
    ready: RegExp,
    env: Record<string, string> = {},
  ): Promise<CliServer> {
    const child = spawn(process.execPath, [join(buildDir, "src", "cli", "main.js"), ...args], {
      stdio: ["ignore", "pipe", 2],
      env: { ...process.env, ...env, NO_COLOR: "1" },
    });
    trackChild(child);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const listening = new Promise<Target>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on("line", (line) => {
        const match = ready.exec(line);
        if (match !== null) resolve({ host: match[1] as string, port: Number(match[2]) });
      });
      void exited.then(() => reject(new Error(`${name} exited before it was ready`)));
    });
    try {
      return new CliServer(child, exited, await withDeadline(listening, START_TIMEOUT_MS, `${name} start`));
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stats(): ProcessStats {
    return procStats(this.pid);
  }

  /** SIGTERM, as a user's Ctrl-C; killed if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    try {
      await withDeadline(this.exited, EXIT_GRACE_MS, "exit on SIGTERM");
    } catch {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** `hychat tracker` with every limit at its default, on 127.0.0.1 and a port the OS picks. */
export function startTracker(buildDir: string, dataDir: string): Promise<CliServer> {
  return CliServer.start(
    "hychat tracker",
    buildDir,
    ["tracker", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir],
    /^listening on (.+):(\d+)$/,
  );
}

/**
 * `hychat peer --headless` signed in as `owner`, hosting `channel`, with every limit at its
 * default; ready once it prints `hosting CHANNEL on HOST:PORT`.
 */
export function startHostingPeer(
  buildDir: string,
  dataDir: string,
  tracker: Target,
  owner: Account,
  channel: string,
): Promise<CliServer> {
  return CliServer.start(
    "hychat peer",
    buildDir,
    [
      "peer",
      "--tracker",
      `${tracker.host}:${tracker.port}`,
      "--username",
      owner.username,
      "--password-env",
      PASSWORD_VARIABLE,
      "--channel-name",
      channel,
      "--data-dir",
      dataDir,
      "--headless",
    ],
    new RegExp(`^hosting ${channel} on (.+):(\\d+)$`),
    { [PASSWORD_VARIABLE]: owner.password },
  );
}
