/** A tracker in its own process, so its memory and CPU are its own. Config: JSON in argv[2]. */
import type { PasswordHashOptions } from "../../src/auth/password.js";
import { TrackerServer } from "../../src/tracker/server.js";
import { processStats, serveParent } from "../lib/child.js";

export interface TrackerProcessConfig {
  dataDir: string;
  passwordHash?: PasswordHashOptions;
}

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
  maxConnections: 30_000,
});

const parent = serveParent({
  stats: processStats,
  close: () => tracker.close(),
});
parent.ready({ address: tracker.address });
