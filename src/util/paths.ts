import { homedir } from "node:os";
import { join } from "node:path";

/** Root of all hychat data: `$HYCHAT_HOME`, else `~/.hychat`. */
export function dataRoot(): string {
  return process.env.HYCHAT_HOME ?? join(homedir(), ".hychat");
}

export function defaultTrackerDataDir(): string {
  return join(dataRoot(), "tracker");
}

/** Each user of a machine gets their own peer data dir. */
export function defaultPeerDataDir(username: string): string {
  return join(dataRoot(), "peers", username.toLowerCase());
}
