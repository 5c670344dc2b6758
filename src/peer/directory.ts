import type { ChannelLink } from "../client/channel-link.js";
import { listedEndpoint } from "../client/host-connection.js";
import { nameKey } from "../protocol/names.js";
import type { ChannelListing, TrackerEventBodies } from "../protocol/tracker-schemas.js";
import type { PeerContext } from "./context.js";

/**
 * The tracker's channel directory as last seen: the listings by name, refreshed with `LIST` and
 * kept current by `CHANNELS` events. Joined channels follow their listing to a new address.
 */
export class Directory {
  private readonly listings = new Map<string, ChannelListing>();

  constructor(private readonly context: PeerContext) {}

  /** The listing of `channel` (any case), if the directory has it. */
  get(channel: string): ChannelListing | undefined {
    return this.listings.get(nameKey(channel));
  }

  /** Forgets a listing that is gone, even if the tracker has not said so yet. */
  forget(channel: string): void {
    this.listings.delete(nameKey(channel));
  }

  /** The channel's name as listed (names may be typed in another case); a joined name as it is. */
  canonicalName(links: ReadonlyMap<string, ChannelLink>, channel: string): string {
    if (links.has(channel)) return channel;
    return this.get(channel)?.name ?? channel;
  }

  /** Asks the tracker for the directory, moves links whose channel moved, and tells the UI. */
  async refresh(): Promise<ChannelListing[]> {
    const { channels } = await this.context.tracker.request("LIST", {});
    this.listings.clear();
    for (const listing of channels) this.listings.set(nameKey(listing.name), listing);
    const user = this.context.user();
    if (user !== undefined) {
      for (const link of user.links.values()) {
        const listing = this.listings.get(nameKey(link.name));
        link.setEndpoint(listedEndpoint(listing), listing?.owner);
      }
    }
    this.context.emit({ type: "directory", channels });
    return channels;
  }

  /** `refresh` for callers that only want the directory current: a failure is logged, not thrown. */
  refreshQuietly(): Promise<void> {
    return this.refresh().then(
      () => undefined,
      (error: unknown) => this.context.logger.debug({ err: error }, "LIST failed"),
    );
  }

  /**
   * A `CHANNELS` event: one channel was listed, changed, went on- or offline, or was removed. The
   * event carries the listing, so the directory is updated in place without a `LIST`.
   */
  changed(change: TrackerEventBodies["CHANNELS"]): void {
    const key = nameKey(change.channel);
    const known = this.listings.get(key);
    const updated: ChannelListing | undefined = change.listing ?? undefined;
    if (updated === undefined) this.listings.delete(key);
    else this.listings.set(key, updated);
    const link = this.context.user()?.links.get(updated?.name ?? known?.name ?? change.channel);
    link?.setEndpoint(listedEndpoint(updated), updated?.owner);
    this.context.emit({ type: "directory", channels: [...this.listings.values()] });
  }

  /** The tracker connection came or went; once back, the directory may have changed meanwhile. */
  trackerState(connected: boolean): void {
    this.context.emit({ type: "tracker", state: connected ? "connected" : "disconnected" });
    if (connected && this.context.user() !== undefined) void this.refreshQuietly();
  }
}
