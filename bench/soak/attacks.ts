import { DeviceKey } from "../../src/auth/device-key.js";
import { type Credentials, type OutgoingMessage, signedMessage } from "../lib/credentials.js";
import { BENCH_FINGERPRINT } from "../lib/wire.js";
import { type Answer, RawLink, type Target } from "./links.js";
import { CACHE_BATCH, HELD_CONNECTIONS } from "./plan.js";
import { type AttackTally, NO_ANSWER, Tally } from "./tally.js";

/** Where the attacks go. */
export interface AttackTargets {
  tracker: Target;
  host: Target;
  channel: string;
}

/** How long a slot waits after its link closed before it dials again: a bounded loop, not a spin. */
const REDIAL_MS = 250;
/** Paced attacks send in ticks of this length. */
const TICK_MS = 50;
/** The start of a request line that is never finished. */
const LINE_HEAD = '{"type":"request","id":"held","command":"SIGNUP","body":{"username":"';

/**
 * The attacks running in one process: their links, their loops and what they counted. `stop`
 * ends every loop and destroys every link, and what happens after it is not counted.
 */
export class AttackRun {
  private stopped = false;
  private begin: () => void = () => {};
  /** Resolves on `start` (or `stop`): loops send nothing before it, links may be prepared. */
  private readonly started = new Promise<void>((resolve) => {
    this.begin = resolve;
  });
  private readonly links = new Set<RawLink>();
  private readonly sleepers = new Set<() => void>();
  private readonly loops: Promise<void>[] = [];
  private readonly tallies: Tally[] = [];
  readonly errors: string[] = [];

  get running(): boolean {
    return !this.stopped;
  }

  tally(attack: string, target: "tracker" | "host", from: string, unit: string): Tally {
    const tally = new Tally(attack, target, from, unit);
    this.tallies.push(tally);
    return tally;
  }

  /** Runs `loop` from `start` until the run stops; an error in it is kept for the report, not thrown. */
  spawn(loop: () => Promise<void>): void {
    this.loops.push(
      this.started.then(loop).catch((error: unknown) => {
        if (this.running) this.errors.push(error instanceof Error ? error.message : String(error));
      }),
    );
  }

  /** A raw link that `stop` destroys; undefined when it could not be opened (counted by the caller). */
  async open(target: Target, from: string, answerPings: boolean): Promise<RawLink | undefined> {
    if (!this.running) return undefined;
    const link = await RawLink.open(target, from, answerPings).catch(() => undefined);
    if (link === undefined) return undefined;
    if (!this.running) {
      link.destroy();
      return undefined;
    }
    this.links.add(link);
    void link.closed.then(() => this.links.delete(link));
    return link;
  }

  /** Waits `ms`, or less when the run stops. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
      if (!this.running) wake();
    });
  }

  start(): void {
    this.begin();
  }

  async stop(): Promise<AttackTally[]> {
    this.stopped = true;
    this.begin();
    for (const wake of [...this.sleepers]) wake();
    for (const link of this.links) link.destroy();
    await Promise.all(this.loops);
    return this.tallies.map((tally) => tally.toJSON());
  }
}

/**
 * Calls `send` `perSecond` times a second while the run lasts, with at most `maxInFlight` of them
 * unfinished: what a stalled server leaves unsent is dropped, not piled up (`sent` counts what went).
 */
function paced(run: AttackRun, perSecond: number, maxInFlight: number, send: () => Promise<void>): void {
  run.spawn(async () => {
    const startedAt = performance.now();
    let started = 0;
    let inFlight = 0;
    while (run.running) {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * perSecond);
      while (started < due && inFlight < maxInFlight && run.running) {
        started += 1;
        inFlight += 1;
        void send().finally(() => {
          inFlight -= 1;
        });
      }
      started = Math.max(started, due);
      await run.sleep(TICK_MS);
    }
  });
}

/** Counts the outcome of a request, unless the run stopped while it waited. */
function countAnswer(run: AttackRun, tally: Tally, answer: Answer | undefined): void {
  if (run.running) tally.outcome(answer?.code ?? NO_ANSWER);
}

/**
 * Opens a link, says `HELLO` and counts the connection in `tally`: `OK` when admitted, else the
 * code it was refused with. Undefined when it was not admitted (the link is then gone).
 */
async function admittedLink(
  run: AttackRun,
  tally: Tally,
  target: Target,
  from: string,
  answerPings: boolean,
): Promise<RawLink | undefined> {
  const link = await run.open(target, from, answerPings);
  if (!run.running) return undefined;
  tally.sent();
  if (link === undefined) {
    tally.outcome("connect failed");
    return undefined;
  }
  if (await link.hello()) {
    tally.outcome("OK");
    return link;
  }
  if (run.running) tally.outcome(link.refusal ?? NO_ANSWER);
  link.destroy();
  return undefined;
}

/** Counts a link's close in `tally` once the server closes it (not when the run ends). */
function countClose(run: AttackRun, tally: Tally, link: RawLink): Promise<void> {
  return link.closed.then(() => {
    if (run.running) tally.closed(link.refusal);
  });
}

interface UnfinishedLineShape {
  attack: string;
  /** Bytes written at a time, every `intervalMs`. */
  pieceBytes: number;
  intervalMs: number;
  /** Bytes slot `index` writes before it only holds its line; past the pre-sign-in cap, the server refuses it. */
  lineBytes(index: number): number;
}

/** Up to 16 KiB held in a line for as long as the server allows; every fourth slot goes past the cap. */
export const PARTIAL_LINES: UnfinishedLineShape = {
  attack: "unfinished lines before sign-in",
  pieceBytes: 1024,
  intervalMs: 100,
  lineBytes: (index) => (index % 4 === 3 ? 20 * 1024 : 15 * 1024),
};

/** One byte a second, forever. */
export const SLOW_DRIPS: UnfinishedLineShape = {
  attack: "slow drips",
  pieceBytes: 1,
  intervalMs: 1000,
  lineBytes: () => Number.POSITIVE_INFINITY,
};

/**
 * `HELD_CONNECTIONS` links from one address, each saying `HELLO` and then writing a request line it
 * never ends, in the shape given; a link the server closes is dialed again.
 */
export function unfinishedLines(
  run: AttackRun,
  shape: UnfinishedLineShape,
  targetName: "tracker" | "host",
  target: Target,
  from: string,
): void {
  const tally = run.tally(shape.attack, targetName, from, "connections");
  const piece = "a".repeat(shape.pieceBytes);
  for (let index = 0; index < HELD_CONNECTIONS; index++) {
    run.spawn(async () => {
      while (run.running) {
        const link = await admittedLink(run, tally, target, from, false);
        if (link !== undefined) {
          const closed = countClose(run, tally, link);
          link.write(LINE_HEAD);
          let held = LINE_HEAD.length;
          tally.held(held);
          while (run.running && link.open && held < shape.lineBytes(index)) {
            await run.sleep(shape.intervalMs);
            link.write(piece);
            held += piece.length;
            tally.held(piece.length);
          }
          await closed;
          tally.held(-held);
        }
        await run.sleep(REDIAL_MS);
      }
    });
  }
}

/**
 * New connections from one address at `perSecond`, each saying `HELLO` and then holding the link
 * without signing in (answering heartbeats) until the server closes it.
 */
export function connectionFlood(
  run: AttackRun,
  targetName: "tracker" | "host",
  target: Target,
  from: string,
  perSecond: number,
): void {
  const tally = run.tally("connection flood", targetName, from, "connections");
  // Handshakes in flight at once: a server that stops answering holds at most this many.
  paced(run, perSecond, 64, async () => {
    const link = await admittedLink(run, tally, target, from, true);
    if (link !== undefined) void countClose(run, tally, link);
  });
}

/**
 * A link kept open for a request flood: dialed (and prepared, say signed in) on first use and
 * again after the server closed it; requests meanwhile are not sent.
 */
class KeptLink<State> {
  private dialing: Promise<{ link: RawLink; state: State } | undefined> | undefined;

  constructor(
    private readonly run: AttackRun,
    private readonly connections: Tally,
    private readonly target: Target,
    private readonly from: string,
    private readonly prepare: (link: RawLink) => Promise<State | undefined>,
  ) {}

  async get(): Promise<{ link: RawLink; state: State } | undefined> {
    this.dialing ??= this.dial();
    const kept = await this.dialing;
    if (kept?.link.open === true) return kept;
    this.dialing = undefined;
    return undefined;
  }

  private async dial(): Promise<{ link: RawLink; state: State } | undefined> {
    const link = await admittedLink(this.run, this.connections, this.target, this.from, true);
    if (link === undefined) {
      await this.run.sleep(REDIAL_MS);
      return undefined;
    }
    void countClose(this.run, this.connections, link);
    const state = await this.prepare(link);
    if (state === undefined) {
      link.destroy();
      await this.run.sleep(REDIAL_MS);
      return undefined;
    }
    return { link, state };
  }
}

/** A fresh key and its proof for `purpose` on `link`. */
function keyFor(link: RawLink, purpose: "GUEST" | "SIGNIN"): { key: DeviceKey; proof: string } {
  const key = DeviceKey.generate();
  return { key, proof: link.prove(key, purpose) };
}

/** `SIGNIN` on a raw link with a fresh key; the credentials, or undefined when refused. */
async function signInRaw(
  link: RawLink,
  account: { username: string; password: string },
  device: string,
): Promise<Credentials | undefined> {
  const { key, proof } = keyFor(link, "SIGNIN");
  const answer = await link.request("SIGNIN", { ...account, device, publicKey: key.publicKey, proof });
  if (answer?.ok !== true) return undefined;
  return { username: String(answer.body.username), ticket: String(answer.body.ticket), key };
}

/** A request flood on one kept link at `perSecond`, `body(n)` for the n-th request. */
function requestFlood<State>(
  run: AttackRun,
  kept: KeptLink<State>,
  tally: Tally,
  perSecond: number,
  maxInFlight: number,
  request: (link: RawLink, state: State, n: number) => Promise<Answer | undefined>,
): void {
  let n = 0;
  paced(run, perSecond, maxInFlight, async () => {
    const current = await kept.get();
    if (current === undefined || !run.running) return;
    tally.sent();
    n += 1;
    countAnswer(run, tally, await request(current.link, current.state, n));
  });
}

/** Pipelined `SIGNUP`s of fresh names from one address. */
export function signupFlood(run: AttackRun, tracker: Target, from: string, perSecond: number): void {
  const connections = run.tally("SIGNUP flood links", "tracker", from, "connections");
  const tally = run.tally("SIGNUP flood", "tracker", from, "SIGNUPs");
  const kept = new KeptLink(run, connections, tracker, from, async () => true);
  const tag = from.replaceAll(".", "");
  requestFlood(run, kept, tally, perSecond, 64, (link, _state, n) =>
    link.request("SIGNUP", { username: `flood${tag}-${n}`, password: "flood-password" }),
  );
}

/** `SIGNIN`s with wrong passwords against `victim`'s name from one address. */
export function wrongPasswords(
  run: AttackRun,
  tracker: Target,
  from: string,
  victim: string,
  perSecond: number,
): void {
  const connections = run.tally("wrong password links", "tracker", from, "connections");
  const tally = run.tally(`wrong passwords for ${victim}`, "tracker", from, "SIGNINs");
  const kept = new KeptLink(run, connections, tracker, from, async (link) => keyFor(link, "SIGNIN"));
  requestFlood(run, kept, tally, perSecond, 64, (link, { key, proof }, n) =>
    link.request("SIGNIN", {
      username: victim,
      password: `not-the-password-${n}`,
      device: "attacker",
      publicKey: key.publicKey,
      proof,
    }),
  );
}

/**
 * Guests from one address: `HELD_CONNECTIONS` links each signed in as a guest and joined to the
 * host's channel from the same address, holding both; over them, `GUEST`s at `perSecond`.
 */
export function guestFlood(run: AttackRun, targets: AttackTargets, from: string, perSecond: number): void {
  const connections = run.tally("guest links", "tracker", from, "connections");
  const guests = run.tally("GUEST flood", "tracker", from, "GUESTs");
  const members = run.tally("guest members (CONNECT)", "host", from, "connections");
  const ready: { link: RawLink; key: DeviceKey; proof: string }[] = [];
  for (let index = 0; index < HELD_CONNECTIONS; index++) {
    run.spawn(async () => {
      while (run.running) {
        const link = await admittedLink(run, connections, targets.tracker, from, true);
        if (link !== undefined) {
          const closed = countClose(run, connections, link);
          const { key, proof } = keyFor(link, "GUEST");
          guests.sent();
          const answer = await link.request("GUEST", { publicKey: key.publicKey, proof });
          countAnswer(run, guests, answer);
          const member = answer?.ok === true ? await joinAsGuest(String(answer.body.ticket), key) : undefined;
          const entry = { link, key, proof };
          ready.push(entry);
          await closed;
          ready.splice(ready.indexOf(entry), 1);
          member?.destroy();
        }
        await run.sleep(REDIAL_MS);
      }
    });
  }
  /** One outcome per member link: admitted and joined (`OK`), or the code of its refusal. */
  const joinAsGuest = async (ticket: string, key: DeviceKey): Promise<RawLink | undefined> => {
    const link = await run.open(targets.host, from, true);
    if (!run.running) return undefined;
    members.sent();
    if (link === undefined) {
      members.outcome("connect failed");
      return undefined;
    }
    if (!(await link.hello())) {
      if (run.running) members.outcome(link.refusal ?? NO_ANSWER);
      link.destroy();
      return undefined;
    }
    void countClose(run, members, link);
    const answer = await link.request("CONNECT", {
      channel: targets.channel,
      ticket,
      proof: link.prove(key, "CONNECT", targets.channel),
    });
    if (run.running) members.outcome(answer?.code ?? NO_ANSWER);
    return link;
  };
  let next = 0;
  paced(run, perSecond, HELD_CONNECTIONS, async () => {
    const entry = ready[next++ % Math.max(1, ready.length)];
    if (entry === undefined) return;
    guests.sent();
    countAnswer(
      run,
      guests,
      await entry.link.request("GUEST", { publicKey: entry.key.publicKey, proof: entry.proof }),
    );
  });
}

/** `HOST`s of fresh 64-character channel names from a signed-in user. */
export function hostFlood(
  run: AttackRun,
  tracker: Target,
  from: string,
  account: { username: string; password: string },
  perSecond: number,
): () => Promise<boolean> {
  const connections = run.tally(`HOST flood links (${account.username})`, "tracker", from, "connections");
  const tally = run.tally(`HOST flood, 64-character names (${account.username})`, "tracker", from, "HOSTs");
  const kept = new KeptLink(run, connections, tracker, from, (link) => signInRaw(link, account, "attacker"));
  requestFlood(run, kept, tally, perSecond, 64, (link, _state, n) =>
    link.request("HOST", {
      channel: `${account.username}-${n}-`.padEnd(64, "x"),
      // Nothing listens there: the tracker's reachability dial is refused at once.
      port: 9,
      fingerprint: BENCH_FINGERPRINT,
    }),
  );
  return async () => (await kept.get()) !== undefined;
}

/**
 * `CACHE`s of `CACHE_BATCH` signed messages from a signed-in member of the host's channel. A
 * refused batch is sent again as it was; once one is answered OK, the next has fresh msgIds, so
 * whatever the allowance lets through is stored and sent to every member.
 */
export function cacheFlood(
  run: AttackRun,
  targets: AttackTargets,
  from: string,
  account: { username: string; password: string },
  perSecond: number,
): () => Promise<boolean> {
  const trackerLinks = run.tally(
    `CACHE flood tracker link (${account.username})`,
    "tracker",
    from,
    "connections",
  );
  const hostLinks = run.tally(`CACHE flood links (${account.username})`, "host", from, "connections");
  const tally = run.tally(
    `CACHE flood, ${CACHE_BATCH} messages each (${account.username})`,
    "host",
    from,
    "CACHEs",
  );
  const signedIn = new KeptLink(run, trackerLinks, targets.tracker, from, (link) =>
    signInRaw(link, account, "attacker"),
  );
  const joined = new KeptLink(run, hostLinks, targets.host, from, async (link) => {
    const author = (await signedIn.get())?.state;
    if (author === undefined) return undefined;
    const answer = await link.request("CONNECT", {
      channel: targets.channel,
      ticket: author.ticket,
      proof: link.prove(author.key, "CONNECT", targets.channel),
    });
    return answer?.ok === true ? author : undefined;
  });
  let batch: OutgoingMessage[] | undefined;
  let batches = 0;
  const freshBatch = (author: Credentials): OutgoingMessage[] => {
    batches += 1;
    const sentAt = new Date().toISOString();
    return Array.from({ length: CACHE_BATCH }, (_, index) =>
      signedMessage(author, targets.channel, `flood-${batches}-${index}`, `flood message ${index}`, sentAt),
    );
  };
  requestFlood(run, joined, tally, perSecond, 8, async (link, author) => {
    batch ??= freshBatch(author);
    const answer = await link.request("CACHE", { channel: targets.channel, messages: batch });
    if (answer?.ok === true) batch = undefined;
    return answer;
  });
  return async () => (await joined.get()) !== undefined;
}
