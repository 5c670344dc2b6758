import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { nameKey } from "../../protocol/names.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { addressGroup } from "../../transport/address-group.js";
import type { TrackerContext } from "../context.js";
import { bindDevice, checkTrackerProof } from "../devices.js";
import type { PeerConnection } from "../peer-connection.js";

function rateLimited(retryAfterMs: number) {
  return wireError(
    "RATE_LIMITED",
    `too many failed sign-ins; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { retryAfterMs },
  );
}

/**
 * SIGNIN: checks the device's proof of possession and the password, binds the device to its key
 * (its older tickets are revoked) and signs the connection in as that user. An unknown name and a
 * wrong password get the same answer, after the same work, so names cannot be probed. A bad proof
 * is refused before any password work and does not count as a failed sign-in.
 *
 * Failures are limited per (name, address), per address, and per name from everywhere; the last
 * refuses only addresses that already failed for the name, so a guesser never locks the owner out
 * (`NameFailureLimiter`). Addresses count by `addressGroup` (IPv6: the /64).
 */
export function signinCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.SIGNIN>({
    schema: trackerBodySchemas.SIGNIN,
    handle(
      { session },
      { username, password, device, publicKey, proof },
    ): Promise<TrackerOkBodies["SIGNIN"]> {
      checkTrackerProof(tracker, session, "SIGNIN", publicKey, proof);
      const userKey = nameKey(username);
      const address = addressGroup(session.remoteAddress);
      // No address holds a space, so the pair key is unambiguous.
      const pairKey = `${userKey} ${address}`;
      // An address with no failure and nothing being checked (a guesser's pipelined attempts are)
      // is served ahead of the rest (`PasswordHashQueue`).
      const trusted =
        tracker.signinFailuresPerUserAddress.isClean(pairKey) &&
        tracker.signinFailuresPerAddress.isClean(address);
      const pairWait = tracker.signinFailuresPerUserAddress.reserve(pairKey);
      if (pairWait > 0) throw rateLimited(pairWait);
      const addressWait = tracker.signinFailuresPerAddress.reserve(address);
      if (addressWait > 0) {
        tracker.signinFailuresPerUserAddress.release(pairKey);
        throw rateLimited(addressWait);
      }
      const userWait = tracker.signinFailuresPerUser.reserve(userKey, address);
      if (userWait > 0) {
        tracker.signinFailuresPerUserAddress.release(pairKey);
        tracker.signinFailuresPerAddress.release(address);
        throw rateLimited(userWait);
      }
      let failed = false;
      return tracker
        .run(async () => {
          const account = tracker.store.findAccount(username);
          const storedHash = account?.passwordHash ?? (await tracker.decoyPasswordHash());
          const matches = await tracker.passwordHashes.verify(password, storedHash, trusted);
          if (account === undefined || !matches) {
            failed = true;
            throw wireError("BAD_CREDENTIALS", "unknown username or wrong password");
          }
          const gen = bindDevice(tracker, account.username, device, publicKey);
          const { ticket, expiresAt } = tracker.issueTicket(account.username, "user", {
            key: publicKey,
            dev: device,
            gen,
          });
          tracker.state.signIn(
            session,
            { username: account.username, role: "user", device, gen, key: publicKey },
            account.invisible,
          );
          return {
            username: account.username,
            role: "user" as const,
            ticket,
            expiresAt,
            invisible: account.invisible,
          };
        })
        .finally(() => {
          if (failed) {
            tracker.signinFailuresPerUserAddress.fail(pairKey);
            tracker.signinFailuresPerAddress.fail(address);
            tracker.signinFailuresPerUser.fail(userKey, address);
          } else {
            tracker.signinFailuresPerUserAddress.release(pairKey);
            tracker.signinFailuresPerAddress.release(address);
            tracker.signinFailuresPerUser.release(userKey);
          }
        });
    },
  });
}
