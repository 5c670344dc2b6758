import type { Revocation, View } from "../protocol/tracker-schemas.js";

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

/** One device of an account: the key its tickets certify and their generation. */
export interface DeviceRecord {
  /** The device id its peer chose (`DEVICE_ID_PATTERN`). */
  device: string;
  /** Null once the device signed out or was evicted: then none of its tickets is current. */
  publicKey: string | null;
  /** The generation of the device's current tickets; tickets of older generations are revoked. */
  gen: number;
  /** Unix milliseconds of the device's last SIGNIN, RESUME or RENEW. */
  lastSeen: number;
}

/**
 * What the tracker keeps across restarts. Lookups ignore the case of names. Calls are synchronous:
 * the tracker's writes are few and small, and a synchronous store keeps every handler's
 * check-then-write free of interleaving.
 */
export interface TrackerStore {
  /** Creates an account; false when the name (in any case) or a look-alike of it is taken. */
  createAccount(username: string, passwordHash: string): boolean;
  findAccount(username: string): AccountRecord | undefined;
  /** The name of an account that looks like `username` (same skeleton, `confusables.ts`), if any. */
  findLookAlike(username: string): string | undefined;
  setInvisible(username: string, invisible: boolean): void;
  countAccounts(): number;
  findChannel(name: string): ChannelRecord | undefined;
  /** Up to `limit` channels ordered by name without case, those after `after` (in any case) when given. */
  listChannels(limit: number, after?: string): ChannelRecord[];
  /** How many channels `owner` (in any case) has registered. */
  countChannelsOwnedBy(owner: string): number;
  /** Inserts the channel, or replaces the one with the same name in any case. */
  saveChannel(channel: ChannelRecord): void;
  /** False when there was no such channel. */
  deleteChannel(name: string): boolean;
  countChannels(): number;
  /** The account's row for `device` (device ids are compared exactly), signed out or not. */
  findDevice(username: string, device: string): DeviceRecord | undefined;
  /** Inserts the device's row, or replaces the one of the same account and device. */
  saveDevice(username: string, record: DeviceRecord): void;
  /** Records a use of the device. */
  touchDevice(username: string, device: string, lastSeen: number): void;
  /** The account's devices that hold a key, least recently used first. */
  activeDevices(username: string): DeviceRecord[];
  /**
   * Deletes the account's key-less device rows that no revocation alive at `now` (Unix seconds)
   * covers; returns how many went.
   */
  deleteStaleDevices(username: string, now: number): number;
  /**
   * Records a revocation, after deleting those that ended by `now` (Unix seconds). One is kept
   * per device: a later one for the same device keeps the higher `minGen` and the later `until`.
   * Returns the revocation as kept.
   */
  addRevocation(revocation: Revocation, now: number): Revocation;
  /** The highest `minGen` of a revocation of the device alive at `now`, or 0 when there is none. */
  revokedBelow(username: string, device: string, now: number): number;
  /** Deletes the revocations that ended by `now` and returns the others, ordered by `until`. */
  liveRevocations(now: number): Revocation[];
  /** Runs `work` in one transaction: all of its writes happen, or none. */
  transaction<T>(work: () => T): T;
  close(): void;
}
