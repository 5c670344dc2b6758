import { isIP } from "node:net";
import { wireError } from "../protocol/errors.js";
import { nameKey } from "../protocol/names.js";
import type { TrackerContext } from "./context.js";
import type { PeerConnection, SignedInIdentity } from "./peer-connection.js";
import type { ChannelRecord } from "./store.js";

/** A DNS name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME_PATTERN = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

/** The signed-in identity of a session that must be a user, not a guest. */
export function requireUser(
  session: PeerConnection,
  guestCode: "GUESTS_CANNOT_HOST" | "GUESTS_CANNOT_HIDE",
  guestMessage: string,
): SignedInIdentity {
  const identity = session.identity;
  if (identity === undefined) throw wireError("NOT_SIGNED_IN", "this command needs a signed-in connection");
  if (identity.role !== "user") throw wireError(guestCode, guestMessage);
  return identity;
}

/** The channel's registration when the session's user owns it; `NO_SUCH_CHANNEL` or `NOT_OWNER` otherwise. */
export function ownedChannel(
  tracker: TrackerContext,
  session: PeerConnection,
  channel: string,
): ChannelRecord {
  const record = tracker.store.findChannel(channel);
  if (record === undefined) throw wireError("NO_SUCH_CHANNEL", `no channel ${channel} is registered`);
  const identity = session.identity;
  if (
    identity === undefined ||
    identity.role !== "user" ||
    nameKey(identity.username) !== nameKey(record.owner)
  ) {
    throw wireError("NOT_OWNER", `only ${record.owner} may change ${record.name}`);
  }
  return record;
}

function isUnspecifiedAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return host === "0.0.0.0";
  return family === 6 && /^[0:]+$/.test(host);
}

/** Writes an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as the IPv4 address it carries. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/**
 * The host to list for a channel: the one given, or when it is omitted or unspecified (`0.0.0.0`,
 * `::`) the address the registering connection came from.
 */
export function advertisedHost(session: PeerConnection, host: string | undefined): string {
  if (host === undefined || isUnspecifiedAddress(host)) return session.remoteAddress;
  if (isIP(host) === 0 && !HOST_NAME_PATTERN.test(host)) {
    throw wireError("BAD_REQUEST", "host: must be an IP address or a host name");
  }
  return host;
}
