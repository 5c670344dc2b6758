import type { Address } from "../protocol/tracker-schemas.js";
import { addressKey, dial } from "../transport/dial.js";
import { pinnedTrust } from "../transport/trust.js";

export type { Reach } from "../protocol/tracker-schemas.js";

/** How long a result stands before the same address and key are dialed again. */
const RESULT_TTL_MS = 60_000;
/** Results kept at most; the oldest go first. */
const MAX_RESULTS = 10_000;

interface Result {
  reachable: Promise<boolean>;
  at: number;
}

/**
 * Measures whether a host can be dialed at the address the tracker would list: a TLS handshake
 * that must present the fingerprint the host registered, within a short timeout. A home router
 * without a port forwarded refuses or drops it. One dial serves every channel of the same host
 * (address and key) for a minute, and concurrent checks share it.
 */
export class ReachabilityChecker {
  private readonly results = new Map<string, Result>();

  constructor(private readonly timeoutMs: number) {}

  reachable(address: Address, fingerprint: string): Promise<boolean> {
    const key = `${addressKey(address)} ${fingerprint}`;
    const now = Date.now();
    const known = this.results.get(key);
    if (known !== undefined && now - known.at < RESULT_TTL_MS) return known.reachable;
    this.results.delete(key);
    if (this.results.size >= MAX_RESULTS) this.results.delete(this.results.keys().next().value as string);
    const reachable = dial(address, {
      trust: pinnedTrust(fingerprint, "HOST_KEY_MISMATCH", "the channel host"),
      timeoutMs: this.timeoutMs,
    }).then(
      ({ socket }) => {
        socket.destroy();
        return true;
      },
      () => false,
    );
    this.results.set(key, { reachable, at: now });
    return reachable;
  }

  /** Forgets what was measured of `address`, so the next check dials again (the host says it changed). */
  forget(address: Address): void {
    const prefix = `${addressKey(address)} `;
    for (const key of this.results.keys()) if (key.startsWith(prefix)) this.results.delete(key);
  }
}
