import { wireError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";
import { addressKey, dial } from "../transport/dial.js";
import { pinnedTrust } from "../transport/trust.js";

export type { Reach } from "../protocol/tracker-schemas.js";

/** How long a result stands before the same address and key are dialed again. */
const RESULT_TTL_MS = 60_000;
/** Results kept at most; the oldest go first. */
const MAX_RESULTS = 10_000;
/** Dials under way at once, in all and for one user: the tracker must not become anyone's port scanner. */
const MAX_DIALS = 64;
const MAX_DIALS_PER_USER = 2;
/** Local failures say nothing of the host: they are not kept. */
const LOCAL_ERRORS: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

interface Result {
  reachable: Promise<boolean>;
  at: number;
}

/**
 * Measures whether a host can be dialed at the address the tracker would list: a TLS handshake
 * that must present the fingerprint the host registered, within a short timeout. A home router
 * without a port forwarded refuses or drops it. One dial serves every channel of the same host
 * (address and key) for a minute, and concurrent checks share it. Each new dial costs the user a
 * `HOST` token (see the `HOST` command), and dials under way are capped per user and in all.
 */
export class ReachabilityChecker {
  private readonly results = new Map<string, Result>();
  private dials = 0;
  private readonly dialsByUser = new Map<string, number>();

  constructor(private readonly timeoutMs: number) {}

  /** True when a result (or a dial under way) for this address and key can be shared: no new dial. */
  known(address: Address, fingerprint: string): boolean {
    const known = this.results.get(resultKey(address, fingerprint));
    return known !== undefined && Date.now() - known.at < RESULT_TTL_MS;
  }

  /**
   * Whether the host answers at `address` with `fingerprint`, dialing for `user` unless a result can
   * be shared. Throws `RATE_LIMITED` when that user, or the tracker, has as many dials under way as allowed.
   */
  reachable(address: Address, fingerprint: string, user: string): Promise<boolean> {
    const key = resultKey(address, fingerprint);
    const now = Date.now();
    const known = this.results.get(key);
    if (known !== undefined && now - known.at < RESULT_TTL_MS) return known.reachable;
    const userDials = this.dialsByUser.get(user) ?? 0;
    if (this.dials >= MAX_DIALS || userDials >= MAX_DIALS_PER_USER) {
      throw wireError("RATE_LIMITED", "the tracker is checking other addresses; try again shortly", {
        retryAfterMs: this.timeoutMs,
      });
    }
    this.results.delete(key);
    if (this.results.size >= MAX_RESULTS) this.results.delete(this.results.keys().next().value as string);
    this.dials += 1;
    this.dialsByUser.set(user, userDials + 1);
    const reachable = dial(address, {
      trust: pinnedTrust(fingerprint, "HOST_KEY_MISMATCH", "the channel host"),
      timeoutMs: this.timeoutMs,
    })
      .then(
        ({ socket }) => {
          socket.destroy();
          return true;
        },
        (error: unknown) => {
          if (LOCAL_ERRORS.has((error as { code?: string }).code ?? "")) this.results.delete(key);
          return false;
        },
      )
      .finally(() => {
        this.dials -= 1;
        const left = (this.dialsByUser.get(user) ?? 1) - 1;
        if (left <= 0) this.dialsByUser.delete(user);
        else this.dialsByUser.set(user, left);
      });
    this.results.set(key, { reachable, at: now });
    return reachable;
  }
}

function resultKey(address: Address, fingerprint: string): string {
  return `${addressKey(address)} ${fingerprint}`;
}
