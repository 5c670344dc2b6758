import type { ChannelLink } from "../client/channel-link.js";
import { nameKey } from "../protocol/names.js";
import type { ChannelListing, TrackerEventBodies } from "../protocol/tracker-schemas.js";
import type { PeerContext } from "./context.js";
import { endpointOf } from "./endpoints.js";

/** Most `LIST` pages one refresh fetches (500 channels each from a tracker of this release). */
export const DEFAULT_MAX_DIRECTORY_PAGES = 100;

/**
 * The tracker's channel directory as last seen: the listings by name, refreshed with `LIST` (page
 * by page, up to `maxDirectoryPages`) and kept current by `CHANNELS` events. A channel is looked
 * up on its own (`LIST {name}`) to join it. Joined channels follow their listing to a new address.
 */
export class Directory {
  private readonly listings = new Map<string, ChannelListing>();
  private truncationTold = false;

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

  /**
   * Asks the tracker for the directory, moves links whose channel moved, and tells the UI. Past the
   * page cap, joined channels the pages did not reach are looked up by name.
   */
  async refresh(): Promise<ChannelListing[]> {
    const { channels, complete } = await this.fetchPages();
    this.listings.clear();
    for (const listing of channels) this.listings.set(nameKey(listing.name), listing);
    const unreached: string[] = [];
    for (const link of this.context.user()?.links.values() ?? []) {
      const listing = this.listings.get(nameKey(link.name));
      if (listing === undefined && !complete) unreached.push(link.name);
      else link.setEndpoint(endpointOf(this.context.user(), link.name, listing), listing?.owner);
    }
    for (const name of unreached) await this.fetchOne(name);
    if (!complete) this.tellTruncated(channels.length);
    const listed = [...this.listings.values()];
    this.context.emit({ type: "directory", channels: listed });
    return listed;
  }

  /** `refresh` for callers that only want the directory current: a failure is logged, not thrown. */
  refreshQuietly(): Promise<void> {
    return this.refresh().then(
      () => undefined,
      (error: unknown) => this.context.logger.debug({ err: error }, "LIST failed"),
    );
  }

  /**
   * Asks the tracker for one channel (`LIST {name}`), updates the directory and a joined link with
   * the answer and tells the UI; undefined when no such channel is registered.
   */
  async lookup(channel: string): Promise<ChannelListing | undefined> {
    const listing = await this.fetchOne(channel);
    this.context.emit({ type: "directory", channels: [...this.listings.values()] });
    return listing;
  }

  /** `lookup` for callers that only want the listing current: a failure is logged, not thrown. */
  lookupQuietly(channel: string): Promise<void> {
    return this.lookup(channel).then(
      () => undefined,
      (error: unknown) => this.context.logger.debug({ err: error, channel }, "LIST of one channel failed"),
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
    link?.setEndpoint(endpointOf(this.context.user(), link.name, updated), updated?.owner);
    this.context.emit({ type: "directory", channels: [...this.listings.values()] });
  }

  /** Every page of the directory, `complete` false when the page cap (or a page that does not move on) stopped it. */
  private async fetchPages(): Promise<{ channels: ChannelListing[]; complete: boolean }> {
    const maxPages = this.context.options.maxDirectoryPages ?? DEFAULT_MAX_DIRECTORY_PAGES;
    const channels: ChannelListing[] = [];
    let after: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const reply = await this.context.tracker.request("LIST", after === undefined ? {} : { after });
      channels.push(...reply.channels);
      if (reply.next === null) return { channels, complete: true };
      if (after !== undefined && nameKey(reply.next) <= nameKey(after)) break;
      after = reply.next;
    }
    return { channels, complete: false };
  }

  /** One channel's listing from the tracker, into the directory and onto its link if joined. */
  private async fetchOne(channel: string): Promise<ChannelListing | undefined> {
    const key = nameKey(channel);
    const { channels } = await this.context.tracker.request("LIST", { name: channel });
    const listing = channels.find((listed) => nameKey(listed.name) === key);
    const known = this.listings.get(key);
    if (listing === undefined) this.listings.delete(key);
    else this.listings.set(key, listing);
    const link = this.context.user()?.links.get(listing?.name ?? known?.name ?? channel);
    link?.setEndpoint(endpointOf(this.context.user(), link.name, listing), listing?.owner);
    return listing;
  }

  /** Once per peer: the directory shown is the first pages only; any channel can still be joined by name. */
  private tellTruncated(shown: number): void {
    if (this.truncationTold) return;
    this.truncationTold = true;
    this.context.emit({
      type: "notice",
      level: "info",
      text: `the directory lists more channels than the ${shown} fetched; join any other by its name`,
    });
  }

  /** The tracker connection came or went; once back, the directory may have changed meanwhile. */
  trackerState(connected: boolean): void {
    this.context.emit({ type: "tracker", state: connected ? "connected" : "disconnected" });
    if (connected && this.context.user() !== undefined) void this.refreshQuietly();
  }
}
