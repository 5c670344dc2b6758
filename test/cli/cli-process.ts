import { type ChildProcess, spawn } from "node:child_process";
import { StringDecoder } from "node:string_decoder";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Default deadline for a line to appear: generous, the machine running tests may be busy. */
export const DEFAULT_DEADLINE_MS = 60_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * `hychat ...` as a real child process (`node --import tsx src/cli/main.ts`), with its output
 * kept line by line so a test can wait for a line with a deadline instead of sleeping.
 */
export class CliProcess {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  /** Standard output as the child wrote it, byte for byte (the lines are its UTF-8 decoding). */
  readonly stdoutChunks: Buffer[] = [];
  stderr = "";
  private partial = "";
  private readonly waiters = new Set<() => void>();
  private exit: Exit | undefined;
  private readonly exited: Promise<Exit>;

  /** `netns`: run it inside that Linux network namespace (`ip netns exec`), as on another machine. */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv, options: { netns?: string } = {}) {
    const command = [process.execPath, "--import", "tsx", MAIN, ...args];
    const [file, ...argv] =
      options.netns === undefined ? command : ["ip", "netns", "exec", options.netns, ...command];
    this.child = spawn(file as string, argv, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", HYCHAT_LOG_LEVEL: "warn", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const decoder = new StringDecoder("utf8");
    this.child.stderr?.setEncoding("utf8");
    this.child.stdout?.on("data", (bytes: Buffer) => {
      this.stdoutChunks.push(bytes);
      const parts = (this.partial + decoder.write(bytes)).split("\n");
      this.partial = parts.pop() ?? "";
      this.stdoutLines.push(...parts);
      this.wake();
    });
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    // Writing to a child that already exited is not what a test checks.
    this.child.stdin?.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        this.partial += decoder.end();
        if (this.partial !== "") this.stdoutLines.push(...this.partial.split("\n"));
        this.partial = "";
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  get stdout(): string {
    return this.stdoutLines.join("\n");
  }

  get stdoutBytes(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  /** Resolves with the first stdout line (from `from` on) matching `pattern`; rejects after the deadline or at exit. */
  waitForLine(
    pattern: RegExp,
    options: { from?: number; deadlineMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let index = options.from ?? 0; index < this.stdoutLines.length; index += 1) {
          const match = pattern.exec(this.stdoutLines[index] ?? "");
          if (match !== null) {
            finish();
            resolve(match);
            return;
          }
        }
        if (this.exit !== undefined) {
          finish();
          reject(
            new Error(
              `exited (${JSON.stringify(this.exit)}) before a line matched ${pattern}\n${this.describe()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no line matched ${pattern} within ${deadlineMs} ms\n${this.describe()}`));
      }, deadlineMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Writes one line to the child's standard input. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  /** Resolves when the child exits; rejects after the deadline. */
  waitForExit(deadlineMs = DEFAULT_DEADLINE_MS): Promise<Exit> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`still running after ${deadlineMs} ms\n${this.describe()}`)),
        deadlineMs,
      );
      this.exited.then((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  /** Kills the child if it still runs, and waits for it to go. */
  async kill(): Promise<void> {
    if (this.exit === undefined) this.child.kill("SIGKILL");
    await this.exited;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private describe(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }
}
