import { homedir } from "node:os";
import { join } from "node:path";

/** Root of all hychat data: `$HYCHAT_HOME`, else `~/.hychat`. */
export function dataRoot(): string {
  return process.env.HYCHAT_HOME ?? join(homedir(), ".hychat");
}

export function defaultTrackerDataDir(): string {
  return join(dataRoot(), "tracker");
}

/** A peer keeps each user's state in its own subdirectory of this. */
export function defaultPeerDataDir(): string {
  return join(dataRoot(), "peer");
}
