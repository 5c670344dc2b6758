import { randomUUID } from "node:crypto";
import type { TrackerIdentity } from "../auth/keys.js";
import { hashPassword, PasswordHashQueue } from "../auth/password.js";
import { nowSeconds, publicKeyToBase64, signTicket } from "../auth/tickets.js";
import { wireError } from "../protocol/errors.js";
import { encodeEvent } from "../protocol/frames.js";
import {
  type ChannelListing,
  type Revocation,
  type Role,
  type TrackerCommand,
  trackerBodySchemas,
} from "../protocol/tracker-schemas.js";
import type { Logger } from "../util/logger.js";
import { KeyedTokenBuckets, TokenBucket } from "../util/rate-limit.js";
import { FailureLimiter, NameFailureLimiter } from "./limits.js";
import {
  type ResolvedTrackerOptions,
  SIGNIN_FAILURE_WINDOW_MS,
  SIGNIN_NAME_FAILURE_WINDOW_MS,
} from "./options.js";
import type { PeerConnection } from "./peer-connection.js";
import { ReachabilityChecker } from "./reachability.js";
import { RelayBroker } from "./relay-broker.js";
import type { OnlineState } from "./state.js";
import type { ChannelRecord, TrackerStore } from "./store.js";

export interface IssuedTicket {
  ticket: string;
  /** ISO 8601 UTC time of the ticket's `exp`. */
  expiresAt: string;
}

/** The device a ticket certifies: its key, its id and the generation of its tickets. */
export interface TicketDevice {
  key: string;
  dev: string;
  gen: number;
}

/** Everything the command handlers share: options, store, keys, online state and limits. */
export class TrackerContext {
  readonly startedAt = Date.now();
  readonly publicKeyBase64: string;
  /** Keyed by a username's key and an address group together (commands/signin.ts). */
  readonly signinFailuresPerUserAddress: FailureLimiter;
  readonly signinFailuresPerAddress: FailureLimiter;
  readonly signinFailuresPerUser: NameFailureLimiter;
  readonly signupsPerAddress: KeyedTokenBuckets;
  readonly signups: TokenBucket;
  /** Every scrypt run of SIGNUP and SIGNIN waits its turn here. */
  readonly passwordHashes: PasswordHashQueue;
  readonly guestsPerAddress: KeyedTokenBuckets;
  /** `HOST`s that register or change a listing, per user (name key). */
  readonly hostsPerUser: KeyedTokenBuckets;
  /** The relay for hosts the tracker cannot dial; undefined with `relay: false`. */
  readonly relay: RelayBroker | undefined;
  /** Dials each new host's address to tell members how it is reached. */
  readonly reachability: ReachabilityChecker;
  /** Requests received since start, by command (known commands only, so the map stays small). */
  readonly requestCounts = new Map<TrackerCommand, number>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Connections that asked for REVOCATIONS: each later revocation is pushed to them. */
  private readonly revocationSubscribers = new Set<PeerConnection>();
  private lastDeviceUse = 0;
  private closing = false;
  private decoyHash: Promise<string> | undefined;

  constructor(
    readonly options: ResolvedTrackerOptions,
    readonly store: TrackerStore,
    readonly identity: TrackerIdentity,
    /** The fingerprint of the tracker's TLS certificate: proofs sent to this tracker sign it. */
    readonly fingerprint: string,
    readonly state: OnlineState,
    readonly logger: Logger,
  ) {
    this.publicKeyBase64 = publicKeyToBase64(identity.publicKey);
    this.signinFailuresPerUserAddress = new FailureLimiter(
      options.signinFailuresPerUserAddress,
      SIGNIN_FAILURE_WINDOW_MS,
    );
    this.signinFailuresPerAddress = new FailureLimiter(
      options.signinFailuresPerAddress,
      SIGNIN_FAILURE_WINDOW_MS,
    );
    this.signinFailuresPerUser = new NameFailureLimiter(
      options.signinFailuresPerUserPerHour,
      SIGNIN_NAME_FAILURE_WINDOW_MS,
    );
    this.signupsPerAddress = new KeyedTokenBuckets(
      options.signupsPerAddressPerHour / 3600,
      options.signupsPerAddressPerHour,
    );
    this.signups = new TokenBucket(options.signupsPerMinute / 60, options.signupsPerMinute);
    this.passwordHashes = new PasswordHashQueue({
      concurrency: options.passwordHashConcurrency,
      maxQueued: options.passwordHashQueueLength,
    });
    this.relay = options.relay ? new RelayBroker(options.relayLimits) : undefined;
    this.reachability = new ReachabilityChecker(options.reachabilityTimeoutMs);
    this.guestsPerAddress = new KeyedTokenBuckets(
      options.guestsPerSecondPerAddress,
      options.guestsPerSecondPerAddress,
    );
    this.hostsPerUser = new KeyedTokenBuckets(options.hostsPerSecondPerUser, options.hostBurstPerUser);
  }

  issueTicket(username: string, role: Role, device: TicketDevice): IssuedTicket {
    const iat = nowSeconds();
    const exp = iat + this.options.ticketTtlS;
    const ticket = signTicket(
      {
        v: 2,
        sub: username,
        role,
        key: device.key,
        dev: device.dev,
        gen: device.gen,
        iat,
        exp,
        iss: this.identity.issuer,
      },
      this.identity.privateKey,
    );
    return { ticket, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * Unix milliseconds for a device's `last_seen`, strictly increasing within this process, so the
   * least recently used device is never a tie.
   */
  deviceUseTime(): number {
    this.lastDeviceUse = Math.max(Date.now(), this.lastDeviceUse + 1);
    return this.lastDeviceUse;
  }

  /** Pushes each later revocation to `session` as a `REVOKED` event, while it stays open. */
  subscribeRevocations(session: PeerConnection): void {
    if (!session.connection.closed) this.revocationSubscribers.add(session);
  }

  /** `session` closed or signed out: it is sent no more revocations. */
  unsubscribeRevocations(session: PeerConnection): void {
    this.revocationSubscribers.delete(session);
  }

  /**
   * Pushes revocations the store has kept, each as its own `REVOKED` event encoded once, to every
   * subscribed open connection. Called after the transaction that recorded them.
   */
  publishRevocations(revocations: readonly Revocation[]): void {
    for (const revocation of revocations) {
      this.logger.info(
        { username: revocation.username, device: revocation.device, minGen: revocation.minGen },
        "device tickets revoked",
      );
    }
    if (this.closing || this.revocationSubscribers.size === 0) return;
    for (const revocation of revocations) {
      const frame = encodeEvent("REVOKED", { revocations: [revocation] });
      for (const session of this.revocationSubscribers) {
        if (session.connection.closed) this.revocationSubscribers.delete(session);
        else session.connection.write(frame);
      }
    }
  }

  /**
   * A hash of a random password, checked against when a SIGNIN names no account, so that an unknown
   * name takes as long to refuse as a wrong password.
   */
  decoyPasswordHash(): Promise<string> {
    this.decoyHash ??= hashPassword(randomUUID(), this.options.passwordHash);
    return this.decoyHash;
  }

  /** Counts one received request; names that are not tracker commands are not kept. */
  countRequest(command: string): void {
    if (!Object.hasOwn(trackerBodySchemas, command)) return;
    const known = command as TrackerCommand;
    this.requestCounts.set(known, (this.requestCounts.get(known) ?? 0) + 1);
  }

  /**
   * Runs an asynchronous handler body so that `close()` waits for it before closing the store.
   * Refused with `SHUTTING_DOWN` once the tracker is closing.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(wireError("SHUTTING_DOWN", "the tracker is shutting down"));
    const promise = work();
    this.inflight.add(promise);
    const forget = () => this.inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Refuses new work and resolves once every running handler body has settled. */
  async drain(): Promise<void> {
    this.closing = true;
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** A channel's directory entry: its settings as stored, its address while its host is online. */
  listing(channel: ChannelRecord): ChannelListing {
    const link = this.state.listed(channel.name);
    return {
      name: channel.name,
      owner: channel.owner,
      view: channel.view,
      moderated: channel.moderated,
      online: link !== undefined,
      address: link === undefined ? null : { ...link.address },
      fingerprint: link?.fingerprint ?? null,
      members: link?.members ?? 0,
      reach: link?.reach ?? null,
    };
  }

  /**
   * Pushes a `CHANNELS` event, encoded once, to every signed-in connection. It carries the channel's
   * listing after the change (null once removed), so no peer has to `LIST` to learn it.
   */
  broadcastChannel(name: string): void {
    if (this.closing) return;
    const record = this.store.findChannel(name);
    const listing = record === undefined ? null : this.listing(record);
    const frame = encodeEvent("CHANNELS", {
      channel: listing?.name ?? name,
      online: listing?.online ?? false,
      address: listing?.address ?? null,
      fingerprint: listing?.fingerprint ?? null,
      ...(listing === null ? { removed: true } : {}),
      listing,
    });
    for (const session of this.state.signedInSessions()) session.connection.write(frame);
  }
}
