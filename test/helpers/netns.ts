import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";

/**
 * Real NAT for tests, out of Linux network namespaces: "the internet" (`out`), a home router
 * (`router`, masquerading, no port forwarding) and a hosting peer behind it (`home`):
 *
 *   out 10.X.1.2 [eth0] ── [wan0] 10.X.1.1 router 10.X.2.1 [lan0] ── [eth0] 10.X.2.2 home
 *
 * Needs root, `ip` (iproute2) and `iptables`; `capture` needs `tcpdump`.
 */

/** Bound on each `ip`/`iptables` command: they take milliseconds, a hung one must not hang a test. */
const STEP_TIMEOUT_MS = 10_000;
/** How long a child gets to exit on SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** Default deadline for a child's output line: generous, the machine running tests may be busy. */
const LINE_DEADLINE_MS = 20_000;

const execFileAsync = promisify(execFile);

export type Role = "out" | "router" | "home";

/** Why a topology cannot be built on this machine (not root, no `ip`, `ip netns add` refused); tests skip with its message. */
export class NetnsUnavailable extends Error {
  override readonly name = "NetnsUnavailable";
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Capture {
  readonly file: string;
  /** Stops tcpdump and returns the pcap file's bytes (payloads appear in them as sent). */
  stop(): Promise<Buffer>;
}

export type CutMode = "drop" | "down";

export interface NatTopology {
  /** Namespace names, unique per topology. */
  readonly names: Readonly<Record<Role, string>>;
  readonly addresses: {
    readonly out: string;
    readonly routerOutside: string;
    readonly routerHome: string;
    readonly home: string;
  };
  /** Interface names, per namespace (so they repeat across topologies). */
  readonly devices: {
    readonly out: "eth0";
    readonly routerOutside: "wan0";
    readonly routerHome: "lan0";
    readonly home: "eth0";
  };
  /** Spawns `command args` inside the namespace; destroy() kills it if it still runs. */
  run(ns: Role, command: string, args: readonly string[], options?: RunOptions): NetnsProcess;
  /** Runs a short command inside the namespace to completion (bounded), returning its stdout; rejects on failure. */
  exec(ns: Role, command: string, args: readonly string[]): Promise<string>;
  /** Starts `tcpdump -i IFACE -w FILE -U` in the namespace; resolves once it is listening. */
  capture(ns: Role, iface?: string): Promise<Capture>;
  /**
   * Cuts the router's outside link. "drop" (default) silently drops everything on it, as a dead
   * uplink does; NAT mappings survive, so established connections resume on restore. "down" sets
   * wan0 down: home gets "unreachable" at once, and the kernel forgets the masquerade mappings,
   * as a router does when its WAN reconnects.
   */
  cutLink(mode?: CutMode): Promise<void>;
  /** Undoes cutLink; does nothing if the link is not cut. */
  restoreLink(): Promise<void>;
  /** Kills every child (SIGTERM, SIGKILL after a grace), then deletes the namespaces. Idempotent. */
  destroy(): Promise<void>;
}

/** Runs a command to completion within STEP_TIMEOUT_MS, returning stdout; the error carries its stderr. */
async function execBounded(file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      timeout: STEP_TIMEOUT_MS,
      killSignal: "SIGKILL",
      encoding: "utf8",
    });
    return stdout;
  } catch (error) {
    const { stderr, killed } = error as { stderr?: string; killed?: boolean };
    const why = killed ? `timed out after ${STEP_TIMEOUT_MS} ms` : stderr?.trim() || String(error);
    throw new Error(`${file} ${args.join(" ")} failed: ${why}`);
  }
}

/** A child process running in a namespace, its output kept line by line to wait on. */
export class NetnsProcess {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  private readonly waiters = new Set<() => void>();
  private exitState: Exit | undefined;
  private openStreams = 2;
  private readonly exited: Promise<Exit>;

  constructor(file: string, args: readonly string[], options: RunOptions = {}) {
    this.child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.collect(this.child.stdout, this.stdoutLines);
    this.collect(this.child.stderr, this.stderrLines);
    // Writing to a child that already exited is not what a test checks.
    this.child.stdin?.on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      const done = (exit: Exit) => {
        this.exitState ??= exit;
        this.wake();
        resolve(this.exitState);
      };
      this.child.on("exit", (code, signal) => done({ code, signal }));
      this.child.on("error", (error) => {
        this.stderrLines.push(`spawn failed: ${error.message}`);
        done({ code: null, signal: null });
      });
    });
  }

  get running(): boolean {
    return this.exitState === undefined;
  }

  /** Resolves with the first line (from `from` on) matching `pattern`; rejects after the deadline or once output ends. */
  waitForLine(
    pattern: RegExp,
    options: { stream?: "stdout" | "stderr"; from?: number; deadlineMs?: number } = {},
  ): Promise<RegExpMatchArray> {
    const lines = options.stream === "stderr" ? this.stderrLines : this.stdoutLines;
    const deadlineMs = options.deadlineMs ?? LINE_DEADLINE_MS;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let index = options.from ?? 0; index < lines.length; index += 1) {
          const match = pattern.exec(lines[index] ?? "");
          if (match !== null) {
            finish();
            resolve(match);
            return;
          }
        }
        if (this.openStreams === 0 && !this.running) {
          finish();
          reject(
            new Error(
              `ended (${JSON.stringify(this.exitState)}) before a line matched ${pattern}\n${this.describe()}`,
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

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  /** Resolves when the child exits; rejects after the deadline. */
  async waitForExit(deadlineMs = LINE_DEADLINE_MS): Promise<Exit> {
    if (await this.exitsWithin(deadlineMs)) return this.exited;
    throw new Error(`still running after ${deadlineMs} ms\n${this.describe()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace. */
  async stop(graceMs = KILL_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    if (await this.exitsWithin(graceMs)) return;
    this.child.kill("SIGKILL");
    await this.waitForExit(STEP_TIMEOUT_MS);
  }

  /** For the process-exit hook, which cannot wait. */
  killNow(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  describe(): string {
    return `--- stdout ---\n${this.stdoutLines.join("\n")}\n--- stderr ---\n${this.stderrLines.join("\n")}`;
  }

  private exitsWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private collect(stream: Readable | null, lines: string[]): void {
    if (stream === null) return;
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      this.wake();
    });
    stream.on("close", () => {
      if (partial !== "") lines.push(partial);
      partial = "";
      this.openStreams -= 1;
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Topologies not yet destroyed, removed at process exit in case a test never reached its `after`. */
const live = new Set<Topology>();
let exitHookInstalled = false;

function trackLive(topology: Topology): void {
  live.add(topology);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const leftover of live) {
      try {
        leftover.teardownNow();
      } catch (error) {
        process.stderr.write(`netns cleanup at exit: ${(error as Error).message}\n`);
      }
    }
  });
}

/** The iptables rules that make "drop" a dead uplink: nothing in or out of wan0, forwarded or not. */
const DROP_RULES = [
  ["FORWARD", "-i", "wan0"],
  ["FORWARD", "-o", "wan0"],
  ["INPUT", "-i", "wan0"],
  ["OUTPUT", "-o", "wan0"],
] as const;

class Topology implements NatTopology {
  readonly names: Readonly<Record<Role, string>>;
  readonly addresses: NatTopology["addresses"];
  readonly devices = { out: "eth0", routerOutside: "wan0", routerHome: "lan0", home: "eth0" } as const;
  /** Namespaces actually added, so teardown after a partial setup deletes just those. */
  private readonly created: string[] = [];
  private readonly children = new Set<NetnsProcess>();
  private readonly dir = mkdtempSync(join(tmpdir(), "hychat-netns-"));
  private captureCount = 0;
  private cut: CutMode | undefined;
  private destroying: Promise<void> | undefined;

  constructor() {
    const suffix = randomBytes(4).toString("hex");
    this.names = { out: `out-${suffix}`, router: `router-${suffix}`, home: `home-${suffix}` };
    const x = randomInt(256);
    this.addresses = {
      out: `10.${x}.1.2`,
      routerOutside: `10.${x}.1.1`,
      routerHome: `10.${x}.2.1`,
      home: `10.${x}.2.2`,
    };
    trackLive(this);
  }

  async build(): Promise<void> {
    const { out, router, home } = this.names;
    const a = this.addresses;
    for (const name of [out, router, home]) {
      try {
        await execBounded("ip", ["netns", "add", name]);
      } catch (error) {
        if (this.created.length === 0) throw new NetnsUnavailable((error as Error).message);
        throw error;
      }
      this.created.push(name);
      await execBounded("ip", ["-n", name, "link", "set", "lo", "up"]);
    }
    const ip = (ns: string, ...args: string[]) => execBounded("ip", ["-n", ns, ...args]);
    await ip(router, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", out);
    await ip(router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", home);
    const addressed: [string, string, string][] = [
      [out, "eth0", `${a.out}/24`],
      [router, "wan0", `${a.routerOutside}/24`],
      [router, "lan0", `${a.routerHome}/24`],
      [home, "eth0", `${a.home}/24`],
    ];
    for (const [ns, dev, cidr] of addressed) {
      await ip(ns, "addr", "add", cidr, "dev", dev);
      await ip(ns, "link", "set", dev, "up");
    }
    await ip(home, "route", "add", "default", "via", a.routerHome);
    // sysctl (procps) may be absent; /proc/sys/net is per namespace for the process writing it.
    await this.exec("router", "sh", ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
    // A default home router: masquerade outbound, forward inward only replies to what went out.
    await this.iptables("-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE");
    await this.iptables("-P", "FORWARD", "DROP");
    await this.iptables("-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-j", "ACCEPT");
    await this.iptables(
      "-A",
      "FORWARD",
      "-i",
      "wan0",
      "-o",
      "lan0",
      "-m",
      "conntrack",
      "--ctstate",
      "ESTABLISHED,RELATED",
      "-j",
      "ACCEPT",
    );
  }

  run(ns: Role, command: string, args: readonly string[], options: RunOptions = {}): NetnsProcess {
    if (this.destroying !== undefined) throw new Error("the topology is destroyed");
    const child = new NetnsProcess("ip", ["netns", "exec", this.names[ns], command, ...args], options);
    this.children.add(child);
    return child;
  }

  exec(ns: Role, command: string, args: readonly string[]): Promise<string> {
    return execBounded("ip", ["netns", "exec", this.names[ns], command, ...args]);
  }

  async capture(ns: Role, iface = "any"): Promise<Capture> {
    this.captureCount += 1;
    const file = join(this.dir, `capture-${this.captureCount}.pcap`);
    // --immediate-mode: else packets wait in the kernel's ring buffer and are lost when tcpdump stops.
    // -Z root: Debian's tcpdump otherwise switches to user tcpdump, who may not read back our temp dir.
    const tcpdump = this.run(ns, "tcpdump", [
      "-i",
      iface,
      "-w",
      file,
      "-U",
      "--immediate-mode",
      "-Z",
      "root",
    ]);
    await tcpdump.waitForLine(/^tcpdump: listening on /, { stream: "stderr", deadlineMs: STEP_TIMEOUT_MS });
    let stopped: Promise<Buffer> | undefined;
    return {
      file,
      stop: () => {
        stopped ??= tcpdump.stop().then(() => readFile(file));
        return stopped;
      },
    };
  }

  async cutLink(mode: CutMode = "drop"): Promise<void> {
    if (this.cut !== undefined) throw new Error(`the link is already cut (${this.cut})`);
    if (mode === "down") await this.exec("router", "ip", ["link", "set", "wan0", "down"]);
    else for (const rule of DROP_RULES) await this.iptables("-I", ...rule, "-j", "DROP");
    this.cut = mode;
  }

  async restoreLink(): Promise<void> {
    if (this.cut === "down") await this.exec("router", "ip", ["link", "set", "wan0", "up"]);
    else if (this.cut === "drop")
      for (const rule of DROP_RULES) await this.iptables("-D", ...rule, "-j", "DROP");
    this.cut = undefined;
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await Promise.all([...this.children].map((child) => child.stop()));
      this.teardownNow();
    })();
    return this.destroying;
  }

  /**
   * Kills what still runs in the namespaces and deletes them, synchronously so the process-exit hook
   * can use it too. A namespace outlives `ip netns delete` while a process is in it, hence
   * `ip netns pids` first: it also finds grandchildren the tracked children left behind.
   */
  teardownNow(): void {
    live.delete(this);
    for (const child of this.children) child.killNow();
    const failures: string[] = [];
    for (const name of this.created.splice(0)) {
      const pids = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8", timeout: STEP_TIMEOUT_MS });
      for (const pid of (pids.stdout ?? "").split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      const deleted = spawnSync("ip", ["netns", "delete", name], {
        encoding: "utf8",
        timeout: STEP_TIMEOUT_MS,
      });
      if (deleted.status !== 0) failures.push(`ip netns delete ${name}: ${deleted.stderr ?? deleted.error}`);
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`could not remove every namespace:\n${failures.join("\n")}`);
  }

  private iptables(...args: string[]): Promise<string> {
    // -w: the legacy backend's lock is machine-wide, and parallel test files build routers at once.
    return this.exec("router", "iptables", ["-w", "5", ...args]);
  }
}

/**
 * Builds a fresh topology with unique names and a random 10.X prefix, or throws NetnsUnavailable.
 * A failure part-way removes what was built. Call destroy() in `after`; a process-exit hook removes
 * any topology a test left behind.
 */
export async function createNatTopology(): Promise<NatTopology> {
  if (process.platform !== "linux") throw new NetnsUnavailable("network namespaces need Linux");
  if (process.getuid?.() !== 0) throw new NetnsUnavailable("needs root to create network namespaces");
  for (const [tool, flag, pkg] of [
    ["ip", "-V", "iproute2"],
    ["iptables", "--version", "iptables"],
  ] as const) {
    const probe = spawnSync(tool, [flag], { timeout: STEP_TIMEOUT_MS });
    if (probe.status !== 0) throw new NetnsUnavailable(`needs ${tool} (Debian: ${pkg})`);
  }
  const topology = new Topology();
  try {
    await topology.build();
  } catch (error) {
    try {
      await topology.destroy();
    } catch (cleanup) {
      throw new AggregateError([error, cleanup], "building the NAT topology failed, and so did removing it");
    }
    throw error;
  }
  return topology;
}
