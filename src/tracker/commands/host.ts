import { isDeepStrictEqual } from "node:util";
import { command } from "../../protocol/dispatcher.js";
import { wireError } from "../../protocol/errors.js";
import { nameKey } from "../../protocol/names.js";
import {
  type Address,
  type ChannelListing,
  type Reach,
  type TrackerOkBodies,
  type TrackerRequestBodies,
  trackerBodySchemas,
} from "../../protocol/tracker-schemas.js";
import { advertisedHost, requireUser } from "../access.js";
import type { TrackerContext } from "../context.js";
import type { PeerConnection } from "../peer-connection.js";
import type { ListingOwner } from "../state.js";
import type { ChannelRecord } from "../store.js";

/**
 * Refuses one more registration past the owner's quota or the tracker's cap (`CHANNEL_QUOTA`).
 * Channels registered before a quota was lowered stay, and may be hosted again.
 */
function requireChannelRoom(tracker: TrackerContext, owner: string): void {
  const { maxChannelsPerUser, maxChannels } = tracker.options;
  if (maxChannelsPerUser > 0 && tracker.store.countChannelsOwnedBy(owner) >= maxChannelsPerUser) {
    throw wireError(
      "CHANNEL_QUOTA",
      `${owner} has ${maxChannelsPerUser} channels registered already, the most one user may have; unhost one first`,
      { limit: maxChannelsPerUser },
    );
  }
  if (maxChannels > 0 && tracker.store.countChannels() >= maxChannels) {
    throw wireError("CHANNEL_QUOTA", `the tracker lists at most ${maxChannels} channels`, {
      limit: maxChannels,
    });
  }
}

/** True when a HOST changes what a live link lists: another connection, address, key, settings or spelling. */
function changesLiveListing(
  live: ListingOwner,
  session: PeerConnection,
  existing: ChannelRecord,
  next: ChannelRecord,
  address: Address,
  fingerprint: string,
): boolean {
  return (
    live.session !== session ||
    existing.name !== next.name ||
    existing.view !== next.view ||
    existing.moderated !== next.moderated ||
    live.address.host !== address.host ||
    live.address.port !== address.port ||
    live.fingerprint !== fingerprint
  );
}

/** Charges the owner's HOST bucket; `RATE_LIMITED` with `retryAfterMs` when it is empty. */
function takeHostToken(tracker: TrackerContext, owner: string): void {
  const wait = tracker.hostsPerUser.take(nameKey(owner));
  if (wait > 0) {
    throw wireError("RATE_LIMITED", "too many channel registrations and changes; try again shortly", {
      retryAfterMs: wait,
    });
  }
}

/**
 * How members will reach a host at `address`: the tracker dials it (TLS, the registered key, a
 * short timeout); what it cannot dial goes through the relay, when it runs one.
 */
async function measureReach(
  tracker: TrackerContext,
  address: Address,
  fingerprint: string,
  user: string,
): Promise<Reach> {
  if (await tracker.reachability.reachable(address, fingerprint, user)) return "direct";
  return tracker.relay === undefined ? "unreachable" : "relay";
}

/**
 * HOST: registers a channel, or brings the owner's channel back online, from any address. This
 * connection becomes the channel's liveness link. The answer waits for the tracker's dial to the
 * address it lists (see `measureReach`), and carries how the channel is reached.
 */
export function hostCommand(tracker: TrackerContext) {
  return command<PeerConnection, typeof trackerBodySchemas.HOST>({
    schema: trackerBodySchemas.HOST,
    signedIn: true,
    handle({ session }, body): Promise<TrackerOkBodies["HOST"]> {
      const { address, charged } = checkHost(tracker, session, body, true);
      const user = nameKey(session.identity?.username ?? "");
      // A dial to an address and key not measured lately costs a token even for a channel coming
      // back online: otherwise pipelined HOSTs would make the tracker dial anywhere, without end.
      if (!charged && !tracker.reachability.known(address, body.fingerprint)) takeHostToken(tracker, user);
      return tracker.run(async () => {
        const reach = await measureReach(tracker, address, body.fingerprint, user);
        // The link closed while it was measured: nothing to list through it.
        if (session.connection.closed) throw wireError("SHUTTING_DOWN", "the connection closed");
        // Checked again: the name may have been taken, or the quota filled, meanwhile.
        return register(tracker, session, body, reach, checkHost(tracker, session, body, false));
      });
    },
  });
}

interface Registration {
  record: ChannelRecord;
  address: Address;
  live: ListingOwner | undefined;
  before: ChannelListing | undefined;
  /** A HOST token was taken for it. */
  charged: boolean;
}

/** Refuses a HOST the owner may not make (`CHANNEL_TAKEN`, `CHANNEL_QUOTA`, `RATE_LIMITED` when `charge`). */
function checkHost(
  tracker: TrackerContext,
  session: PeerConnection,
  body: TrackerRequestBodies["HOST"],
  charge: boolean,
): Registration {
  const user = requireUser(session, "GUESTS_CANNOT_HOST", "guests cannot host channels");
  const existing = tracker.store.findChannel(body.channel);
  if (existing !== undefined && nameKey(existing.owner) !== nameKey(user.username)) {
    throw wireError("CHANNEL_TAKEN", `the channel name ${body.channel} belongs to ${existing.owner}`);
  }
  if (existing === undefined) requireChannelRoom(tracker, user.username);
  const address = { host: advertisedHost(session, body.host), port: body.port };
  const record: ChannelRecord = {
    name: body.channel,
    owner: existing?.owner ?? user.username,
    view: body.view ?? existing?.view ?? "public",
    moderated: body.moderated ?? existing?.moderated ?? false,
  };
  const live = tracker.state.link(body.channel);
  const before = existing === undefined ? undefined : tracker.listing(existing);
  // Bringing an offline channel back online is free, so a reconnect that registers all of a
  // user's channels again is never refused; a new name or a change to a live listing costs.
  const charged =
    charge &&
    (existing === undefined ||
      (live !== undefined && changesLiveListing(live, session, existing, record, address, body.fingerprint)));
  if (charged) takeHostToken(tracker, user.username);
  return { record, address, live, before, charged };
}

/** Stores the channel and lists it through `session`, telling everyone when what they see changed. */
function register(
  tracker: TrackerContext,
  session: PeerConnection,
  body: TrackerRequestBodies["HOST"],
  reach: Reach,
  { record, address, live, before }: Registration,
): TrackerOkBodies["HOST"] {
  tracker.store.saveChannel(record);
  tracker.state.setLink(body.channel, record.owner, session, address, body.fingerprint, reach);
  // An invisible owner's channel coming back where it was listed changes nothing anyone sees.
  const changed =
    before === undefined ||
    !isDeepStrictEqual(before, tracker.listing(record)) ||
    (live !== undefined && live.session !== session);
  if (changed) tracker.broadcastChannel(body.channel);
  return {
    channel: body.channel,
    address,
    reach,
    publicKey: tracker.publicKeyBase64,
    issuer: tracker.identity.issuer,
  };
}
