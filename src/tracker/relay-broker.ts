import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { wireError } from "../protocol/errors.js";
import { ByteBudget, Splice } from "./relay-splice.js";

/** Limits of the relay a tracker runs for hosts it cannot reach. Every one is an option. */
export interface RelayLimits {
  /** Relayed streams open or being set up at once, in all (default 10,000). */
  maxSessions: number;
  /** Relayed streams at once to one host, counted by its owner (default 1,000). */
  maxSessionsPerHost: number;
  /** Relayed streams at once from one member, counted by username (default 32). */
  maxSessionsPerMember: number;
  /**
   * Relayed streams at once dialed from one address (IPv6: one /64), whatever names it uses
   * (default 64): free guest tickets must not let one address fill a host's share.
   */
  maxSessionsPerAddress: number;
  /** Members waiting at once for one host to dial back (default 64, what a host dials back at once). */
  maxPendingPerHost: number;
  /** Bytes a second through one host's streams, both ways together (default 32 MiB; 0 = no limit). */
  hostBytesPerSecond: number;
  /** Bytes a second through one member's streams, both ways together (default 4 MiB; 0 = no limit). */
  memberBytesPerSecond: number;
  /** How long a host has to dial back for a member before the member is told it did not (default 10 s). */
  acceptTimeoutMs: number;
  /** A relayed stream with no byte either way for this long is closed (default 5 min; heartbeats keep live ones busy). */
  idleTimeoutMs: number;
}

/** How long a refused member has to close its side after the answer before its socket is destroyed. */
const REFUSED_GRACE_MS = 2_000;

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxSessions: 10_000,
  maxSessionsPerHost: 1_000,
  maxSessionsPerMember: 32,
  maxSessionsPerAddress: 64,
  maxPendingPerHost: 64,
  hostBytesPerSecond: 32 * 1024 * 1024,
  memberBytesPerSecond: 4 * 1024 * 1024,
  acceptTimeoutMs: 10_000,
  idleTimeoutMs: 5 * 60_000,
};

export interface RelayStats {
  /** Streams spliced right now. */
  sessions: number;
  /** Members waiting for their host to dial back. */
  pending: number;
  /** Bytes relayed since start, both ways. */
  bytes: number;
  /** Dials refused by a limit since start. */
  refused: number;
  /** Dials whose host never dialed back since start. */
  unanswered: number;
}

/** Who a relayed stream counts against: the host's owner, the member's name, the member's address group. */
export interface RelayParties {
  host: string;
  member: string;
  address: string;
}

interface PendingDial extends RelayParties {
  timer: NodeJS.Timeout;
  resolve(leg: Duplex): void;
  reject(error: Error): void;
}

interface PartyUse {
  sessions: number;
  pending: number;
  budget: ByteBudget;
}

/**
 * Pairs a member's dial with the stream its host dials back, and splices the two. The relay never
 * reads what flows (TLS runs end to end between member and host inside it); it counts and limits
 * streams and bytes per host and per member. A dial back is matched by a random session id the
 * host alone was told, on its own signed-in link.
 */
export class RelayBroker {
  private readonly pending = new Map<string, PendingDial>();
  private readonly splices = new Set<Splice>();
  private readonly hosts = new Map<string, PartyUse>();
  private readonly members = new Map<string, PartyUse>();
  private readonly addresses = new Map<string, PartyUse>();
  /** Members' streams from `RELAY_DIAL` until they close, so `close()` can end them all. */
  private readonly memberStreams = new Set<Duplex>();
  private bytes = 0;
  private refused = 0;
  private unanswered = 0;

  constructor(readonly limits: RelayLimits) {}

  stats(): RelayStats {
    return {
      sessions: this.splices.size,
      pending: this.pending.size,
      bytes: this.bytes,
      refused: this.refused,
      unanswered: this.unanswered,
    };
  }

  /**
   * Reserves a stream from `member` to `host` (keys: lowercased usernames) and returns the session
   * id to send the host, with the host's leg once it dials back. Throws `RELAY_LIMIT` past a limit.
   */
  open(parties: RelayParties): { session: string; accepted: Promise<Duplex> } {
    const { limits } = this;
    const hostUse = this.hosts.get(parties.host);
    let refusal: string | undefined;
    if (this.pending.size + this.splices.size >= limits.maxSessions)
      refusal = `this relay carries at most ${limits.maxSessions} streams`;
    else if ((hostUse?.sessions ?? 0) >= limits.maxSessionsPerHost)
      refusal = `this relay carries at most ${limits.maxSessionsPerHost} streams to one host`;
    else if ((hostUse?.pending ?? 0) >= limits.maxPendingPerHost)
      refusal = `at most ${limits.maxPendingPerHost} members wait for one host at once`;
    else if ((this.members.get(parties.member)?.sessions ?? 0) >= limits.maxSessionsPerMember)
      refusal = `this relay carries at most ${limits.maxSessionsPerMember} streams for one member`;
    else if ((this.addresses.get(parties.address)?.sessions ?? 0) >= limits.maxSessionsPerAddress)
      refusal = `this relay carries at most ${limits.maxSessionsPerAddress} streams from one address`;
    if (refusal !== undefined) {
      this.refused += 1;
      throw wireError("RELAY_LIMIT", refusal);
    }
    for (const use of this.uses(parties, true)) {
      use.sessions += 1;
    }
    this.use(this.hosts, parties.host, 0).pending += 1;
    const session = randomBytes(16).toString("base64url");
    const accepted = new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(session)) return;
        this.unanswered += 1;
        this.settlePending(parties);
        this.release(parties);
        reject(wireError("RELAY_UNAVAILABLE", `the host did not answer within ${limits.acceptTimeoutMs} ms`));
      }, limits.acceptTimeoutMs);
      this.pending.set(session, { ...parties, timer, resolve, reject });
    });
    return { session, accepted };
  }

  /**
   * Keeps a member's stream until it closes, so `close()` ends it; a refused one is ended after
   * its answer is sent, and destroyed if the member does not close its side within a grace period.
   */
  track(stream: Duplex): void {
    this.memberStreams.add(stream);
    stream.once("close", () => this.memberStreams.delete(stream));
  }

  /** Ends a refused member stream with its last bytes, destroying it after a grace period. */
  endRefused(stream: Duplex, lastBytes: string): void {
    stream.end(lastBytes);
    const timer = setTimeout(() => stream.destroy(), REFUSED_GRACE_MS);
    timer.unref();
    stream.once("close", () => clearTimeout(timer));
  }

  /** Sockets the relay holds open: two per spliced stream, one per waiting member. */
  get openSockets(): number {
    return this.memberStreams.size + this.splices.size;
  }

  /** True when `session` is waiting for its host. */
  expects(session: string): boolean {
    return this.pending.has(session);
  }

  /** The host dialed back for `session`: hands its leg to the waiting member. False when unknown or expired. */
  accept(session: string, leg: Duplex): boolean {
    const dial = this.pending.get(session);
    if (dial === undefined) return false;
    this.pending.delete(session);
    clearTimeout(dial.timer);
    this.settlePending(dial);
    dial.resolve(leg);
    return true;
  }

  /** Splices the member's leg to the host's; both are counted until either closes. */
  splice(parties: RelayParties, memberLeg: Duplex, hostLeg: Duplex): void {
    const uses = this.uses(parties, false);
    if (uses.length < 3) {
      memberLeg.destroy();
      hostLeg.destroy();
      return;
    }
    const splice = new Splice(memberLeg, hostLeg, {
      budgets: uses.map((use) => use.budget),
      idleTimeoutMs: this.limits.idleTimeoutMs,
      onBytes: (bytes) => {
        this.bytes += bytes;
      },
      onClose: () => {
        this.splices.delete(splice);
        this.release(parties);
      },
    });
    this.splices.add(splice);
    splice.start();
  }

  /** A member whose dial failed after `open` (say, it closed while waiting) gives its reservation back. */
  abandon(session: string): void {
    const dial = this.pending.get(session);
    if (dial === undefined) return;
    this.pending.delete(session);
    clearTimeout(dial.timer);
    this.settlePending(dial);
    this.release(dial);
    dial.reject(wireError("RELAY_UNAVAILABLE", "the dial was abandoned"));
  }

  /** Closes every relayed stream and fails every waiting dial. */
  close(): void {
    for (const session of [...this.pending.keys()]) this.abandon(session);
    for (const splice of [...this.splices]) splice.close();
    for (const stream of [...this.memberStreams]) stream.destroy();
  }

  /** The uses a stream counts against (created when `create`), in budget order: host, member, address. */
  private uses(parties: RelayParties, create: boolean): PartyUse[] {
    const { limits } = this;
    const wanted: [Map<string, PartyUse>, string, number][] = [
      [this.hosts, parties.host, limits.hostBytesPerSecond],
      [this.members, parties.member, limits.memberBytesPerSecond],
      [this.addresses, parties.address, limits.memberBytesPerSecond],
    ];
    const uses: PartyUse[] = [];
    for (const [map, key, perSecond] of wanted) {
      const use = create ? this.use(map, key, perSecond) : map.get(key);
      if (use !== undefined) uses.push(use);
    }
    return uses;
  }

  private settlePending(parties: RelayParties): void {
    const use = this.hosts.get(parties.host);
    if (use !== undefined) use.pending = Math.max(0, use.pending - 1);
  }

  private use(parties: Map<string, PartyUse>, key: string, perSecond: number): PartyUse {
    let use = parties.get(key);
    if (use === undefined) {
      use = { sessions: 0, pending: 0, budget: new ByteBudget(perSecond) };
      parties.set(key, use);
    }
    return use;
  }

  private release(parties: RelayParties): void {
    for (const [map, key] of [
      [this.hosts, parties.host],
      [this.members, parties.member],
      [this.addresses, parties.address],
    ] as const) {
      const use = map.get(key);
      if (use === undefined) continue;
      use.sessions -= 1;
      // A party with no stream forgets its budget: one that comes back starts with a full one.
      if (use.sessions <= 0) map.delete(key);
    }
  }
}
