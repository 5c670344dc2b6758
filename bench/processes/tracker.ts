/** A tracker in its own process, so its memory and CPU are its own. Config: JSON in argv[2]. */
import type { PasswordHashOptions } from "../../src/auth/password.js";
import { TrackerServer } from "../../src/tracker/server.js";
import { processStats, serveParent } from "../lib/child.js";

export interface TrackerProcessConfig {
  dataDir: string;
  passwordHash?: PasswordHashOptions;
}

/** Well over the 10,000 connections tracker-idle holds (the tracker lowers it to its open-file limit). */
const MAX_CONNECTIONS = 30_000;

const config = JSON.parse(process.argv[2] ?? "{}") as TrackerProcessConfig;
const tracker = await TrackerServer.start({
  dataDir: config.dataDir,
  host: "127.0.0.1",
  port: 0,
  passwordHash: config.passwordHash,
  // The bench signs in thousands of guests and channels from one address.
  guestsPerSecondPerAddress: 0,
  maxConnectionsPerAddress: 0,
  // A few registrar users register the bench's 10,000 channels as fast as the tracker takes them.
  maxChannelsPerUser: 0,
  hostsPerSecondPerUser: 0,
  maxConnections: MAX_CONNECTIONS,
  // The relayed fan-out measures what the relay costs, not its throttle: its members' and host's
  // byte rates would cap it (4 and 32 MiB/s by default), so they are off; a host may take as many
  // relayed streams as the tracker takes connections (0 would refuse every one).
  // Every relayed bench member dials from 127.0.0.1 as the same guest-minting load process.
  relayLimits: {
    hostBytesPerSecond: 0,
    memberBytesPerSecond: 0,
    maxSessionsPerHost: MAX_CONNECTIONS,
    maxSessionsPerAddress: MAX_CONNECTIONS,
    maxPendingPerHost: MAX_CONNECTIONS,
  },
});

const parent = serveParent({
  stats: processStats,
  close: () => tracker.close(),
});
parent.ready({ address: tracker.address });
