import { MIN_PASSWORD_LENGTH } from "../../auth/password.js";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { isAllowedUsername, isGuestName } from "../../protocol/names.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import { addressGroup } from "../../transport/address-group.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

function tooManySignups(where: string, retryAfterMs: number) {
  return wireError(
    "RATE_LIMITED",
    `too many sign-ups ${where}; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { retryAfterMs },
  );
}

/**
 * SIGNUP: creates an account. It does not sign the connection in. Everything cheap is checked
 * first (name rules, a name taken or looked like, the sign-up rates: per address, then for the
 * whole tracker, so one address's refused attempts spend nobody else's), and only then does the
 * password wait for its turn in the hashing queue.
 */
export function signupCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.SIGNUP>({
    schema: trackerBodySchemas.SIGNUP,
    handle({ session }, { username, password }): Promise<TrackerOkBodies["SIGNUP"]> {
      if (!isAllowedUsername(username)) {
        throw wireError(
          "INVALID_USERNAME",
          "a username is 1 to 32 letters, digits, '_', '.' or '-', with at least one letter or digit",
        );
      }
      if (isGuestName(username)) {
        throw wireError("INVALID_USERNAME", "names beginning with guest- are kept for guests");
      }
      if ([...password].length < MIN_PASSWORD_LENGTH) {
        throw wireError("WEAK_PASSWORD", `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
      }
      const refusal = () => {
        if (tracker.store.findAccount(username) !== undefined) {
          return wireError("USERNAME_TAKEN", `the name ${username} is taken`);
        }
        const lookAlike = tracker.store.findLookAlike(username);
        return lookAlike === undefined
          ? undefined
          : wireError("NAME_CONFUSABLE", `${username} looks too much like the existing name ${lookAlike}`, {
              like: lookAlike,
            });
      };
      // Checked before hashing too, so a taken name costs no scrypt run.
      const early = refusal();
      if (early !== undefined) throw early;
      const addressWait = tracker.signupsPerAddress.take(addressGroup(session.remoteAddress));
      if (addressWait > 0) throw tooManySignups("from this address", addressWait);
      const trackerWait = tracker.signups.take();
      if (trackerWait > 0) throw tooManySignups("on this tracker", trackerWait);
      return tracker.run(async () => {
        const passwordHash = await tracker.passwordHashes.hash(password, tracker.options.passwordHash);
        if (!tracker.store.createAccount(username, passwordHash)) {
          throw refusal() ?? wireError("USERNAME_TAKEN", `the name ${username} is taken`);
        }
        tracker.logger.info({ username }, "account created");
        return { username };
      });
    },
  });
}
