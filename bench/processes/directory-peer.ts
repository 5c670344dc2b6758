/**
 * One real peer (the facade the CLI and GUI run on) signed in as a guest, among the connections of
 * the tracker-channels scenario: it reports when its own directory lists an armed channel online.
 * If peers still sent `LIST` for a new channel, that `LIST` would be answered before its directory
 * had the channel, so the tracker's request count taken afterwards would show it. Config: JSON in
 * argv[2].
 */
import type { PeerEvent } from "../../src/api/index.js";
import { Peer } from "../../src/peer/peer.js";
import { silentLogger } from "../../src/util/logger.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { withDeadline } from "../lib/deadline.js";
import type { Address } from "../lib/wire.js";

export interface DirectoryPeerConfig {
  tracker: Address;
  dataDir: string;
}

export interface ListedOutcome {
  /** When the directory first listed the channel online (monotonic microseconds), 0 if it did not. */
  listedUs: number;
  /** Directory events the peer emitted while armed. */
  directoryEvents: number;
  errors: string[];
}

interface Armed {
  channel: string;
  listedUs: number;
  directoryEvents: number;
  done: () => void;
  listed: Promise<void>;
}

const config = JSON.parse(process.argv[2] ?? "{}") as DirectoryPeerConfig;
const peer = await Peer.open({ tracker: config.tracker, dataDir: config.dataDir, logger: silentLogger });
let armed: Armed | undefined;
let directorySize = 0;

peer.subscribe((event: PeerEvent) => {
  if (event.type !== "directory") return;
  directorySize = event.channels.length;
  const current = armed;
  if (current === undefined || current.listedUs !== 0) return;
  current.directoryEvents += 1;
  if (event.channels.some((listing) => listing.name === current.channel && listing.online)) {
    current.listedUs = nowUs();
    current.done();
  }
});
// Signing in loads the whole directory (every LIST page) before it resolves.
const identity = await peer.guest();

function expect(args: { channel: string }): void {
  let done: () => void = () => {};
  const listed = new Promise<void>((resolve) => {
    done = resolve;
  });
  armed = { channel: args.channel, listedUs: 0, directoryEvents: 0, done, listed };
}

async function wait(args: { timeoutMs: number }): Promise<ListedOutcome> {
  const current = armed;
  if (current === undefined) throw new Error("no channel is armed");
  const errors: string[] = [];
  try {
    await withDeadline(current.listed, args.timeoutMs, `the peer's directory listing ${current.channel}`);
  } catch (error) {
    errors.push((error as Error).message);
  }
  armed = undefined;
  return { listedUs: current.listedUs, directoryEvents: current.directoryEvents, errors };
}

const parent = serveParent({
  expect,
  wait,
  stats: processStats,
  close: () => peer.close(),
});
parent.ready({ username: identity.username, directorySize });
