import type { Connection } from "../protocol/connection.js";
import { LineBudget } from "../protocol/line-budget.js";
import { addressGroup } from "./address-group.js";

/** The largest frame a connection sends before signing in (a ticket of 4096, a password of 1024, escaped) fits with room. */
export const DEFAULT_PRE_AUTH_MAX_FRAME_BYTES = 16 * 1024;
export const DEFAULT_PARTIAL_LINE_BUDGET_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;

export interface AdmissionLimits {
  /** Untrusted connections (not signed in, or guests) at once per address (IPv6: per /64); 0: no cap. */
  maxConnectionsPerAddress: number;
  /** The cap on one line while a connection is untrusted (never above `maxFrameBytes`). */
  preAuthMaxFrameBytes: number;
  /** The cap on one line once it is trusted. */
  maxFrameBytes: number;
  /** Bytes that every untrusted connection together may hold in lines not ended yet; 0: no budget. */
  partialLineBudgetBytes: number;
}

/**
 * What a server lets connections it does not trust yet do: how many at once from one address, how
 * long one line may be, and how much all their unfinished lines may hold together. Anyone can open
 * such a connection for free, so each is small and their sum is bounded; signing in as a user
 * lifts the limits.
 */
export class Admission {
  readonly lineBudget: LineBudget;
  private readonly untrusted = new Map<string, number>();

  constructor(readonly limits: AdmissionLimits) {
    this.lineBudget = new LineBudget(limits.partialLineBudgetBytes);
  }

  /** Whether one more untrusted connection from `address` fits under the per-address cap. */
  admits(address: string): boolean {
    const cap = this.limits.maxConnectionsPerAddress;
    return cap <= 0 || (this.untrusted.get(addressGroup(address)) ?? 0) < cap;
  }

  /**
   * Starts `connection` off untrusted. Without an `address` (a link from this process, or one
   * whose origin the socket does not show) it is not counted per address; a `local` link, from
   * this same process, holds nothing against the line budget either.
   */
  enter(connection: Connection, from: { address?: string; local?: boolean }): AdmittedConnection {
    const group = from.address === undefined ? undefined : addressGroup(from.address);
    const untrustedMaxFrameBytes = Math.min(this.limits.preAuthMaxFrameBytes, this.limits.maxFrameBytes);
    return new AdmittedConnection(connection, {
      trusted: { maxFrameBytes: this.limits.maxFrameBytes, budget: undefined },
      untrusted: {
        maxFrameBytes: untrustedMaxFrameBytes,
        budget: from.local === true ? undefined : this.lineBudget,
      },
      count: group === undefined ? undefined : (delta) => this.count(group, delta),
    });
  }

  private count(group: string, delta: 1 | -1): void {
    const next = (this.untrusted.get(group) ?? 0) + delta;
    if (next <= 0) this.untrusted.delete(group);
    else this.untrusted.set(group, next);
  }
}

interface LineLimits {
  maxFrameBytes: number;
  budget: LineBudget | undefined;
}

interface AdmittedLimits {
  trusted: LineLimits;
  untrusted: LineLimits;
  /** Moves this connection in or out of its address's untrusted count; undefined: not counted. */
  count: ((delta: 1 | -1) => void) | undefined;
}

/** One connection under an `Admission`: untrusted until `trust(true)`, counted until `leave`. */
export class AdmittedConnection {
  /** Starts as trusted only so that the constructor's `trust(false)` counts it and sets its limits. */
  private trusted = true;
  private left = false;

  constructor(
    private readonly connection: Connection,
    private readonly limits: AdmittedLimits,
  ) {
    this.trust(false);
  }

  /** Trusted (signed in as a user): the full line cap, no budget, not counted per address. */
  trust(trusted: boolean): void {
    if (this.left || trusted === this.trusted) return;
    this.trusted = trusted;
    this.limits.count?.(trusted ? -1 : 1);
    const lines = trusted ? this.limits.trusted : this.limits.untrusted;
    this.connection.limitLines(lines.maxFrameBytes, lines.budget);
  }

  /** The connection closed: it no longer counts. */
  leave(): void {
    if (this.left) return;
    this.left = true;
    if (!this.trusted) this.limits.count?.(-1);
  }
}
