import { hashPassword, MIN_PASSWORD_LENGTH } from "../../auth/password.js";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { isGuestName, USERNAME_PATTERN } from "../../protocol/names.js";
import { type TrackerOkBodies, trackerBodySchemas } from "../../protocol/tracker-schemas.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";

/** SIGNUP: creates an account. It does not sign the connection in. */
export function signupCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.SIGNUP>({
    schema: trackerBodySchemas.SIGNUP,
    handle(_context, { username, password }): Promise<TrackerOkBodies["SIGNUP"]> {
      if (!USERNAME_PATTERN.test(username)) {
        throw wireError("INVALID_USERNAME", "a username is 1 to 32 letters, digits, '_', '.' or '-'");
      }
      if (isGuestName(username)) {
        throw wireError("INVALID_USERNAME", "names beginning with guest- are kept for guests");
      }
      if ([...password].length < MIN_PASSWORD_LENGTH) {
        throw wireError("WEAK_PASSWORD", `a password has at least ${MIN_PASSWORD_LENGTH} characters`);
      }
      const taken = () => wireError("USERNAME_TAKEN", `the name ${username} is taken`);
      // Checked before hashing too, so a taken name costs no scrypt run.
      if (tracker.store.findAccount(username) !== undefined) throw taken();
      return tracker.run(async () => {
        const passwordHash = await hashPassword(password, tracker.options.passwordHash);
        if (!tracker.store.createAccount(username, passwordHash)) throw taken();
        tracker.logger.info({ username }, "account created");
        return { username };
      });
    },
  });
}
