import { type HostEndpoint, listedEndpoint } from "../client/host-connection.js";
import { nameKey } from "../protocol/names.js";
import type { ChannelListing } from "../protocol/tracker-schemas.js";
import type { UserState } from "./context.js";

/**
 * This peer's own host, when it serves `channel`: reached in this process, never at the listed
 * address (which may be the router's, and then only through the relay).
 */
export function ownHostEndpoint(user: UserState | undefined, channel: string): HostEndpoint | undefined {
  const channelHost = user?.channelHost;
  if (channelHost === undefined) return undefined;
  if (!channelHost.channels().some((hosted) => nameKey(hosted.name) === nameKey(channel))) return undefined;
  return {
    address: channelHost.address,
    fingerprint: channelHost.fingerprint,
    local: () => channelHost.openLocalLink(),
  };
}

/** Where to reach `channel`'s host as of `listing`: here when this peer hosts it, else as listed. */
export function endpointOf(
  user: UserState | undefined,
  channel: string,
  listing: ChannelListing | undefined,
): HostEndpoint | null {
  return ownHostEndpoint(user, channel) ?? listedEndpoint(listing);
}
