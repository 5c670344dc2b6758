import { wireError } from "../protocol/errors.js";
import { MAX_TEXT_CODE_POINTS, nameKey } from "../protocol/names.js";
import type { ChannelState } from "./channel.js";
import type { HostContext } from "./context.js";
import type { HostIdentity } from "./member-connection.js";

/** The checks every send (`MESSAGE`, `CACHE`) passes before it is stored. */

/** Guests only read; in a moderated channel only the owner and authorized users send. */
export function checkMaySend(channel: ChannelState, identity: HostIdentity): void {
  if (identity.role === "guest") throw wireError("GUEST_READ_ONLY", "guests can read but not send");
  if (!channel.maySend(identity)) {
    throw wireError("NOT_AUTHORIZED", `${channel.name} is moderated and you are not authorized to send`);
  }
}

export function checkText(text: string, field = "text"): void {
  if (text.trim().length === 0) throw wireError("EMPTY_TEXT", `${field} is empty`);
  // Count code points without building an array; stop as soon as the limit is passed.
  let codePoints = 0;
  for (const _ of text) {
    codePoints += 1;
    if (codePoints > MAX_TEXT_CODE_POINTS) {
      throw wireError("TEXT_TOO_LONG", `${field} is longer than ${MAX_TEXT_CODE_POINTS} characters`);
    }
  }
}

/**
 * Takes the tokens of a send of `count` messages (the owner is exempt) and returns how many of them,
 * from the first, may be stored; `RATE_LIMITED` with `retryAfterMs` (see `SendAllowance`).
 */
export function checkRate(
  context: HostContext,
  channel: ChannelState,
  identity: HostIdentity,
  count: number,
): number {
  if (channel.isOwner(identity.username)) return count;
  return context.sendAllowance.take(nameKey(identity.username), count);
}
