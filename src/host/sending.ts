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

/** Takes one send from the user's token bucket (the owner is exempt); `RATE_LIMITED` with `retryAfterMs`. */
export function checkRate(context: HostContext, channel: ChannelState, identity: HostIdentity): void {
  if (channel.isOwner(identity.username)) return;
  const retryAfterMs = context.sendLimiter.take(nameKey(identity.username));
  if (retryAfterMs > 0) {
    throw wireError("RATE_LIMITED", `sending too fast; retry in ${retryAfterMs} ms`, { retryAfterMs });
  }
}
