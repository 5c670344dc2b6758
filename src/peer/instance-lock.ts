import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalCode } from "../protocol/codes.js";

/** Held in a user's directory while a peer is signed in as that user there; holds the owner's pid. */
export const LOCK_FILE = "peer.lock";

/** Stale locks (their process gone) are taken over; this bounds the attempts when peers race. */
const MAX_LOCK_ATTEMPTS = 3;

/** Lock files held by this process: a second peer in the same process is refused too. */
const heldHere = new Set<string>();

/**
 * Another peer is signed in as the same user on the same data dir. Two would host the same
 * channels (each taking the listing from the other) and flush the same outbox.
 */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
  readonly code: LocalCode = "DATA_DIR_IN_USE";
}

export interface InstanceLock {
  release(): void;
}

/** Takes the lock of the user directory `dir`, or throws `DataDirInUseError` while another live peer holds it. */
export function acquireInstanceLock(dir: string, username: string): InstanceLock {
  const file = join(dir, LOCK_FILE);
  const inUse = (pid: number) =>
    new DataDirInUseError(
      `${username} is already signed in by another peer on this data dir (pid ${pid}): ` +
        `stop that one, or use another user or --data-dir (lock file ${file})`,
    );
  if (heldHere.has(file)) throw inUse(process.pid);
  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt += 1) {
    // Written aside and linked into place, so a lock file is never seen without its pid.
    const pending = `${file}.${process.pid}`;
    writeFileSync(pending, `${process.pid}\n`, { mode: 0o600 });
    try {
      linkSync(pending, file);
      heldHere.add(file);
      return { release: () => release(file) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = lockHolder(file);
      if (pid !== null && isAlive(pid)) throw inUse(pid);
      // Left by a peer that ended without releasing it (killed, crashed).
      rmSync(file, { force: true });
    } finally {
      rmSync(pending, { force: true });
    }
  }
  throw inUse(lockHolder(file) ?? 0);
}

function release(file: string): void {
  if (!heldHere.delete(file)) return;
  if (lockHolder(file) === process.pid) rmSync(file, { force: true });
}

function lockHolder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  // This process holds no lock on that file (checked first): a lock with its pid is stale.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
