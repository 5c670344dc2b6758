import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  loadOrCreateIdentity,
  TRACKER_ID_FILE,
  TRACKER_KEY_FILE,
  type TrackerIdentity,
} from "../auth/keys.js";
import { SqliteTrackerStore, TRACKER_DB_FILE } from "./sqlite-store.js";
import type { TrackerStore } from "./store.js";

export interface TrackerData {
  identity: TrackerIdentity;
  store: TrackerStore;
}

/** What the operator can do when a file of the data dir is damaged or missing. */
function remedyFor(dataDir: string): string {
  return (
    "stop, and restore it from a backup of the data dir; or remove the whole data dir " +
    `${dataDir} to start a new deployment (every account is lost, and each peer must accept the ` +
    "new tracker key: --tracker-fingerprint)"
  );
}

/**
 * Opens the tracker's data dir (mode 0700): its database, signing key and id. They belong
 * together, so one missing beside the others is refused (`DAMAGED_DATA`) instead of made afresh:
 * an empty database beside a key hosts still trust would let every name be claimed again, and a
 * new key or id beside existing accounts would void every ticket given out. The database is made
 * before the key, so a first start cut short leaves a state the next start accepts.
 * A `store` given by the caller is used as it is.
 */
export function openTrackerData(dataDir: string, store?: TrackerStore): TrackerData {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const remedy = remedyFor(dataDir);
  const keyMade = [TRACKER_KEY_FILE, TRACKER_ID_FILE].some((file) => existsSync(join(dataDir, file)));
  const opened =
    store ?? new SqliteTrackerStore(join(dataDir, TRACKER_DB_FILE), { expectData: keyMade, remedy });
  try {
    const holdsAccounts = store === undefined && opened.countAccounts() > 0;
    return { identity: loadOrCreateIdentity(dataDir, { expected: holdsAccounts, remedy }), store: opened };
  } catch (error) {
    if (store === undefined) opened.close();
    throw error;
  }
}
