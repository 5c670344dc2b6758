/**
 * Members on the real client code: each its own `HostConnectionPool` (so its own TLS link to the
 * host, its own `ReconnectingClient` and its own kept TLS session), joined with
 * `pool.get(endpoint).attach(channel, listener)`, the listener's `up()` sending `CONNECT` on every
 * (re)connect as a channel link does (`HostConnection.connect`: the ticket and the proof of its key
 * over that connection's challenge). It counts each member's CONNECTs and drops with their times,
 * so the orchestrator can time a cold start and a host restart and check that every member came
 * back exactly once.
 *
 * Whether a handshake resumed a TLS session is read off the real sockets: `node:tls`'s `connect`
 * is wrapped in this process (and the ES module bindings synced, so src/transport/dial.ts calls
 * the wrapper) to watch each socket's `secureConnect` and ask `isSessionReused()`. The wrapper
 * only listens; the socket and its options are the client's own.
 */
import { syncBuiltinESMExports } from "node:module";
import tls from "node:tls";
import type { DeviceKey } from "../../src/auth/device-key.js";
import {
  type HostChannelListener,
  type HostConnection,
  HostConnectionPool,
  type HostEndpoint,
} from "../../src/client/host-connection.js";
import { ConnectionError } from "../../src/protocol/errors.js";
import type { BackoffOptions } from "../../src/util/backoff.js";
import { silentLogger } from "../../src/util/logger.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { fromPortable, type PortableCredentials } from "../lib/credentials.js";
import { withDeadline } from "../lib/deadline.js";
import { describeError } from "../lib/ipc.js";

export interface CohortSetup {
  endpoint: HostEndpoint;
  channel: string;
  /** The ticket every member's CONNECT carries, and its key (each proof is made for its own connection). */
  member: PortableCredentials;
  count: number;
  backoff: BackoffOptions;
}

/** TLS handshakes completed by members' dials, by kind. */
export interface Handshakes {
  full: number;
  resumed: number;
}

export interface EpochOutcome {
  members: number;
  /** Members that CONNECTed at least once since the epoch was armed. */
  back: number;
  /** When the epoch was armed, or for a cold start when the first dial began (monotonic microseconds). */
  startUs: number;
  firstBackUs: number;
  lastBackUs: number;
  /** Each member's time from `startUs` to its CONNECT answer, sorted (ms), of those that came back. */
  backMs: number[];
  /** Members that CONNECTed more than once in the epoch. */
  repeated: number;
  /** Members whose joined link did not drop exactly `expectDrops` times. */
  droppedWrongly: number;
  drops: number;
  lastDropUs: number;
  /** Dials that failed (refused while the host was down, or timed out) and were retried. */
  failedDials: number;
  /** CONNECTs lost because their link dropped meanwhile (the member sends another on redial). */
  connectsLost: number;
  handshakes: Handshakes;
  /** This process's CPU time in the epoch (µs). */
  cpuUs: number;
  errors: string[];
}

/** Errors kept per epoch; the count of all of them is reported too. */
const MAX_ERRORS_KEPT = 10;

const handshakes: Handshakes = { full: 0, resumed: 0 };
const originalConnect = tls.connect as (...args: unknown[]) => tls.TLSSocket;
tls.connect = ((...args: unknown[]) => {
  const socket = originalConnect(...args);
  socket.once("secureConnect", () => {
    if (socket.isSessionReused()) handshakes.resumed += 1;
    else handshakes.full += 1;
  });
  return socket;
}) as typeof tls.connect;
syncBuiltinESMExports();

interface Epoch {
  startUs: number;
  expectDrops: number;
  pending: number;
  handshakes: Handshakes;
  cpuUs: number;
  errors: string[];
  errorCount: number;
  connectsLost: number;
  done: () => void;
  finished: Promise<void>;
}

let epoch: Epoch | undefined;
let cohort: Member[] = [];
/** Errors while no epoch was armed, reported by the next `arm` or `closeCohort`. */
let strayErrors: string[] = [];

function recordError(text: string): void {
  if (epoch === undefined) {
    strayErrors.push(text);
    return;
  }
  epoch.errorCount += 1;
  if (epoch.errors.length < MAX_ERRORS_KEPT) epoch.errors.push(text);
}

class Member implements HostChannelListener {
  readonly pool: HostConnectionPool;
  private connection: HostConnection | undefined;
  private joined = false;
  /** Times of every successful CONNECT answer and every drop of a joined link (monotonic µs). */
  readonly connects: number[] = [];
  readonly drops: number[] = [];
  failedDials = 0;
  /** `connects` and `drops` lengths when the epoch was armed, and when it was last checked. */
  connectsBase = 0;
  dropsBase = 0;
  connectsChecked = 0;
  dropsChecked = 0;

  constructor(
    readonly index: number,
    private readonly setup: CohortSetup,
    private readonly key: DeviceKey,
  ) {
    this.pool = new HostConnectionPool({ logger: silentLogger, backoff: setup.backoff });
  }

  start(): void {
    this.connection = this.pool.get(this.setup.endpoint);
    this.connection.attach(this.setup.channel, this);
  }

  up(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    connection.connect({ channel: this.setup.channel, ticket: this.setup.member.ticket }, this.key).then(
      () => {
        this.joined = true;
        this.connects.push(nowUs());
        const current = epoch;
        if (current !== undefined && this.connects.length === this.connectsBase + 1) {
          current.pending -= 1;
          if (current.pending === 0) current.done();
        }
      },
      (error: unknown) => {
        if (error instanceof ConnectionError && error.code === "CONNECTION_CLOSED") {
          if (epoch !== undefined) epoch.connectsLost += 1;
          return;
        }
        recordError(`member ${this.index}: CONNECT failed: ${describeError(error).split("\n")[0]}`);
      },
    );
  }

  down(): void {
    if (this.joined) {
      this.joined = false;
      this.drops.push(nowUs());
    } else {
      this.failedDials += 1;
    }
  }

  event(): void {}

  arm(): void {
    this.connectsBase = this.connects.length;
    this.dropsBase = this.drops.length;
  }

  /** What happened since the last check (a CONNECT or drop after its epoch was over), then checks now. */
  lateChanges(): string[] {
    const late: string[] = [];
    if (this.connects.length !== this.connectsChecked)
      late.push(`member ${this.index} CONNECTed ${this.connects.length - this.connectsChecked} more time(s)`);
    if (this.drops.length !== this.dropsChecked)
      late.push(`member ${this.index} dropped ${this.drops.length - this.dropsChecked} more time(s)`);
    this.connectsChecked = this.connects.length;
    this.dropsChecked = this.drops.length;
    return late;
  }
}

function armEpoch(startUs: number, expectDrops: number): void {
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  for (const member of cohort) member.arm();
  epoch = {
    startUs,
    expectDrops,
    pending: cohort.length,
    handshakes: { ...handshakes },
    cpuUs: processStats().cpuUs,
    errors: [],
    errorCount: 0,
    connectsLost: 0,
    done,
    finished,
  };
  if (cohort.length === 0) done();
}

function lateChanges(): string[] {
  const late = [...strayErrors, ...cohort.flatMap((member) => member.lateChanges())];
  strayErrors = [];
  return late.length > MAX_ERRORS_KEPT
    ? [...late.slice(0, MAX_ERRORS_KEPT), `... ${late.length - MAX_ERRORS_KEPT} more`]
    : late;
}

/** A new cohort of `count` members with fresh pools (no TLS session), all dialing at once. */
function dial(setup: CohortSetup): { startUs: number } {
  if (cohort.length > 0) throw new Error("a cohort is already dialed; close it first");
  const { key } = fromPortable(setup.member);
  cohort = Array.from({ length: setup.count }, (_, index) => new Member(index, setup, key));
  const startUs = nowUs();
  armEpoch(startUs, 0);
  for (const member of cohort) member.start();
  return { startUs };
}

/** Starts the next epoch (a host restart): every member is expected to drop once and CONNECT once. */
function arm(): { late: string[] } {
  const late = lateChanges();
  armEpoch(nowUs(), 1);
  return { late };
}

async function wait(args: { timeoutMs: number }): Promise<EpochOutcome> {
  const current = epoch;
  if (current === undefined) throw new Error("no epoch is armed");
  try {
    await withDeadline(current.finished, args.timeoutMs, "every member back");
  } catch {
    // Reported below as members not back.
  }
  epoch = undefined;
  const backUs: number[] = [];
  let repeated = 0;
  let droppedWrongly = 0;
  let drops = 0;
  let lastDropUs = 0;
  let failedDials = 0;
  for (const member of cohort) {
    const connects = member.connects.slice(member.connectsBase);
    const memberDrops = member.drops.slice(member.dropsBase);
    if (connects[0] !== undefined) backUs.push(connects[0]);
    if (connects.length > 1) repeated += 1;
    if (memberDrops.length !== current.expectDrops) droppedWrongly += 1;
    drops += memberDrops.length;
    for (const at of memberDrops) lastDropUs = Math.max(lastDropUs, at);
    failedDials += member.failedDials;
    member.failedDials = 0;
    member.connectsChecked = member.connects.length;
    member.dropsChecked = member.drops.length;
  }
  if (current.errorCount > current.errors.length)
    current.errors.push(`... ${current.errorCount - current.errors.length} more errors`);
  backUs.sort((a, b) => a - b);
  return {
    members: cohort.length,
    back: backUs.length,
    startUs: current.startUs,
    firstBackUs: backUs[0] ?? 0,
    lastBackUs: backUs[backUs.length - 1] ?? 0,
    backMs: backUs.map((at) => (at - current.startUs) / 1000),
    repeated,
    droppedWrongly,
    drops,
    lastDropUs,
    failedDials,
    connectsLost: current.connectsLost,
    handshakes: {
      full: handshakes.full - current.handshakes.full,
      resumed: handshakes.resumed - current.handshakes.resumed,
    },
    cpuUs: processStats().cpuUs - current.cpuUs,
    errors: current.errors,
  };
}

/** Closes every member of the cohort; reports CONNECTs or drops since the last epoch ended. */
async function closeCohort(args: { timeoutMs: number }): Promise<{ late: string[] }> {
  const late = lateChanges();
  const closing = cohort;
  cohort = [];
  epoch = undefined;
  await withDeadline(
    Promise.all(closing.map((member) => member.pool.close())),
    args.timeoutMs,
    "closing the members",
  );
  return { late };
}

const parent = serveParent({
  dial,
  arm,
  wait,
  closeCohort,
  handshakes: () => ({ ...handshakes }),
  stats: processStats,
  close: () => Promise.all(cohort.map((member) => member.pool.close())),
});
parent.ready({ pid: process.pid });
