import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { ConnectionError } from "../protocol/errors.js";
import { fingerprintSchema } from "../protocol/tracker-schemas.js";
import { addressKey } from "../transport/dial.js";
import type { PresentedCertificate, ServerTrust } from "../transport/trust.js";
import { DamagedDataError } from "../util/damaged-data.js";

export const KNOWN_TRACKERS_FILE = "known-trackers.json";
/** The file holds one short line per tracker address; anything larger is not ours. */
const MAX_KNOWN_TRACKERS_BYTES = 1024 * 1024;
const knownTrackersSchema = z.record(z.string().max(300), fingerprintSchema);
const KNOWN_TRACKERS_REMEDY =
  "fix it, or remove it and check each tracker's key again on first use (--tracker-fingerprint)";

export interface TrackerTrustOptions {
  /** Where the fingerprints of trackers met before are kept, by address (`known-trackers.json`). */
  knownFile: string;
  /** `--tracker-fingerprint`: the only key accepted, and the one remembered from now on. */
  pinned?: string;
  /** Extra CA certificates (PEM) for a tracker whose certificate a CA issued for its name. */
  ca?: string[];
  /** A tracker met for the first time was trusted, and its key remembered. */
  onFirstUse?(address: string, fingerprint: string): void;
}

/**
 * How a peer knows it talks to its tracker, as ssh knows a host: a pinned fingerprint, else a
 * certificate a CA issued for the tracker's name, else the key it saw the first time, kept in
 * `known-trackers.json`. A different key later is refused until the user accepts it deliberately.
 */
export class TrackerTrust implements ServerTrust {
  readonly ca: string[] | undefined;
  private readonly options: TrackerTrustOptions;
  private readonly known: Map<string, string>;

  constructor(options: TrackerTrustOptions) {
    this.options = options;
    this.ca = options.ca;
    this.known = readKnownTrackers(options.knownFile);
  }

  check(presented: PresentedCertificate): void {
    const address = addressKey(presented.address);
    const { pinned } = this.options;
    if (pinned !== undefined) {
      if (presented.fingerprint !== pinned) {
        throw new ConnectionError(
          "TRACKER_KEY_MISMATCH",
          `the tracker at ${address} presented key ${presented.fingerprint}, not the pinned ${pinned} (--tracker-fingerprint): someone may be in the middle, or the pin is wrong`,
        );
      }
      this.remember(address, pinned);
      return;
    }
    if (presented.caVerified) return;
    const known = this.known.get(address);
    if (known === undefined) {
      this.remember(address, presented.fingerprint);
      this.options.onFirstUse?.(address, presented.fingerprint);
      return;
    }
    if (known !== presented.fingerprint) {
      throw new ConnectionError(
        "TRACKER_KEY_MISMATCH",
        `the tracker at ${address} presented key ${presented.fingerprint}, but ${known} was trusted for it before (${this.options.knownFile}). Someone may be in the middle. If the tracker's key was changed on purpose, compare the new key with the "tls fingerprint" line the tracker prints, then run again with --tracker-fingerprint ${presented.fingerprint} to accept it.`,
      );
    }
  }

  private remember(address: string, fingerprint: string): void {
    if (this.known.get(address) === fingerprint) return;
    this.known.set(address, fingerprint);
    mkdirSync(dirname(this.options.knownFile), { recursive: true, mode: 0o700 });
    // One temporary file per writer: peers of several users share this file.
    const temporary = `${this.options.knownFile}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(this.known), null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.options.knownFile);
  }
}

function readKnownTrackers(file: string): Map<string, string> {
  if (!existsSync(file)) return new Map();
  if (statSync(file).size > MAX_KNOWN_TRACKERS_BYTES) {
    throw new DamagedDataError(
      file,
      `is larger than ${MAX_KNOWN_TRACKERS_BYTES} bytes, not a hychat known-trackers file`,
      KNOWN_TRACKERS_REMEDY,
    );
  }
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    content = undefined;
  }
  const parsed = knownTrackersSchema.safeParse(content);
  if (!parsed.success) {
    throw new DamagedDataError(file, "is not a hychat known-trackers file", KNOWN_TRACKERS_REMEDY);
  }
  return new Map(Object.entries(parsed.data));
}
