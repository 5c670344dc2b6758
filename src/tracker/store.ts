import type { View } from "../protocol/tracker-schemas.js";

/** A registered account. The password is only ever held as its hash. */
export interface AccountRecord {
  /** The name as it was signed up (names are unique regardless of case). */
  username: string;
  passwordHash: string;
  invisible: boolean;
}

/** A channel registration: survives restarts; whether it is online lives in memory only. */
export interface ChannelRecord {
  name: string;
  owner: string;
  view: View;
  moderated: boolean;
}

/**
 * What the tracker keeps across restarts. Lookups ignore the case of names. Calls are synchronous:
 * the tracker's writes are few and small, and a synchronous store keeps every handler's
 * check-then-write free of interleaving.
 */
export interface TrackerStore {
  /** Creates an account; false when the name (in any case) is taken. */
  createAccount(username: string, passwordHash: string): boolean;
  findAccount(username: string): AccountRecord | undefined;
  setInvisible(username: string, invisible: boolean): void;
  countAccounts(): number;
  findChannel(name: string): ChannelRecord | undefined;
  /** Every channel, ordered by name. */
  listChannels(): ChannelRecord[];
  /** Inserts the channel, or replaces the one with the same name in any case. */
  saveChannel(channel: ChannelRecord): void;
  /** False when there was no such channel. */
  deleteChannel(name: string): boolean;
  countChannels(): number;
  close(): void;
}
