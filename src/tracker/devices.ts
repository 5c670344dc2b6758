import { proofBytes } from "../auth/canonical.js";
import { checkProof } from "../auth/signatures.js";
import { nowSeconds } from "../auth/tickets.js";
import { wireError } from "../protocol/errors.js";
import type { Revocation, Role } from "../protocol/tracker-schemas.js";
import type { TrackerContext } from "./context.js";
import type { PeerConnection, SignedInIdentity } from "./peer-connection.js";

/**
 * Devices and their tickets: proofs of possession, binding a device at SIGNIN, checking that a
 * ticket's device is still current, and revoking a device's tickets.
 */

export const REVOKED_MESSAGE = "this ticket was revoked: its device signed in again or signed out";

/**
 * Throws `BAD_PROOF` unless `proof` is `publicKey`'s signature over this tracker's fingerprint and
 * this connection's challenge, for `purpose`.
 */
export function checkTrackerProof(
  tracker: TrackerContext,
  session: PeerConnection,
  purpose: "SIGNIN" | "GUEST" | "RESUME",
  publicKey: string,
  proof: string,
): void {
  const bytes = proofBytes({ purpose, fingerprint: tracker.fingerprint, challenge: session.challenge });
  checkProof(publicKey, bytes, proof, purpose);
}

/**
 * Binds `device` of `username` (the account's spelling) to `publicKey` after a successful SIGNIN,
 * and returns the generation of its new tickets. The device's older tickets are revoked; a device
 * that adds to the account's devices past `maxDevicesPerAccount` signs the least recently used
 * ones out first. Revocations are recorded in the same transaction and pushed after it.
 */
export function bindDevice(
  tracker: TrackerContext,
  username: string,
  device: string,
  publicKey: string,
): number {
  const { store } = tracker;
  const now = nowSeconds();
  const until = now + tracker.options.ticketTtlS;
  const revocations: Revocation[] = [];
  const gen = store.transaction(() => {
    const previous = store.findDevice(username, device);
    const gen = Math.max((previous?.gen ?? 0) + 1, store.revokedBelow(username, device, now), 1);
    if (previous === undefined || previous.publicKey === null) {
      // One more device holds a key: rows of revoked devices no longer needed go, and the least
      // recently used devices make room.
      store.deleteStaleDevices(username, now);
      const limit = tracker.options.maxDevicesPerAccount;
      if (limit > 0) {
        const active = store.activeDevices(username);
        for (const evicted of active.slice(0, Math.max(0, active.length - limit + 1))) {
          store.saveDevice(username, { ...evicted, publicKey: null, gen: evicted.gen + 1 });
          revocations.push(
            store.addRevocation({ username, device: evicted.device, minGen: evicted.gen + 1, until }, now),
          );
        }
      }
    }
    store.saveDevice(username, { device, publicKey, gen, lastSeen: tracker.deviceUseTime() });
    if (previous !== undefined) {
      revocations.push(store.addRevocation({ username, device, minGen: gen, until }, now));
    }
    return gen;
  });
  tracker.publishRevocations(revocations);
  return gen;
}

/** What a ticket or a signed-in connection says about its device. */
export interface DeviceClaim {
  username: string;
  role: Role;
  device: string;
  gen: number;
  key: string;
}

/**
 * Throws `BAD_TICKET` (revoked) unless the claim's tickets are current: for a user, the device's
 * row holds this key at this generation (its use is then recorded); for a guest, no revocation
 * covers its generation.
 */
export function requireCurrentDevice(tracker: TrackerContext, claim: DeviceClaim): void {
  const { store } = tracker;
  if (claim.role === "user") {
    const row = store.findDevice(claim.username, claim.device);
    if (row === undefined || row.gen !== claim.gen || row.publicKey !== claim.key) {
      throw wireError("BAD_TICKET", REVOKED_MESSAGE);
    }
    // Least recently used only needs to be roughly right: at most one synced write per device an hour,
    // so a tracker restart that every peer resumes after does not cost one fsync per peer.
    if (Date.now() - row.lastSeen >= tracker.options.deviceTouchIntervalMs) {
      store.touchDevice(claim.username, claim.device, tracker.deviceUseTime());
    }
  } else if (store.revokedBelow(claim.username, claim.device, nowSeconds()) > claim.gen) {
    throw wireError("BAD_TICKET", REVOKED_MESSAGE);
  }
}

/**
 * Revokes every ticket of the identity's device (SIGNOUT). A user's device keeps its row, without
 * a key and a generation up; a guest's device has no row, so only the revocation says it. Nothing
 * changes when the identity's tickets were already revoked (its device signed in again since).
 */
export function revokeDevice(tracker: TrackerContext, identity: SignedInIdentity): void {
  const { store } = tracker;
  const now = nowSeconds();
  const until = now + tracker.options.ticketTtlS;
  const revocations: Revocation[] = [];
  store.transaction(() => {
    const { username, device } = identity;
    if (identity.role === "user") {
      const row = store.findDevice(username, device);
      if (row === undefined || row.gen !== identity.gen || row.publicKey !== identity.key) return;
      store.saveDevice(username, { ...row, publicKey: null, gen: row.gen + 1 });
      revocations.push(store.addRevocation({ username, device, minGen: row.gen + 1, until }, now));
    } else {
      revocations.push(store.addRevocation({ username, device, minGen: identity.gen + 1, until }, now));
    }
  });
  tracker.publishRevocations(revocations);
}
