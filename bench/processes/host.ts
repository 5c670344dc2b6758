/**
 * A channel host in its own process: signs its owner in on the tracker (on its own device, with a
 * fresh device key, which the liveness link's RESUME proofs then use), starts a ChannelHost
 * on 127.0.0.1 with one channel, and reports its address and TLS fingerprint once the tracker
 * lists the channel. SIGTERM closes it gracefully (every member connection closed, the store
 * shut) and exits, as a user's Ctrl-C would. Config: JSON in argv[2].
 */
import { ChannelHost } from "../../src/host/channel-host.js";
import type { HostLimits } from "../../src/host/limits.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { type Credentials, signIn } from "../lib/credentials.js";
import { withDeadline } from "../lib/deadline.js";
import { procCpuTicks } from "../lib/proc-stats.js";
import { type Address, WireClient } from "../lib/wire.js";

export interface HostProcessConfig {
  dataDir: string;
  tracker: Address;
  owner: { username: string; password: string };
  /** The device the owner signs in on here (signing in on it again revokes its older tickets). */
  device: string;
  channel: string;
  limits: Partial<HostLimits>;
  /** A fixed port, so a restarted host is where its members redial (default 0: the OS picks). */
  listenPort?: number;
  /**
   * The address to list instead of the listening one: one nobody answers makes the tracker's
   * reachability dial fail, so it lists the channel `relay` and members come through its relay.
   */
  advertise?: Address;
}

export interface HostReady {
  address: Address;
  /** When the channel was listed (monotonic microseconds). */
  readyUs: number;
  /** The certificate fingerprint members pin (it lives in the data dir, so it survives a restart). */
  fingerprint: string;
  pid: number;
  /** When the server was listening, before the channel was listed (monotonic microseconds). */
  listeningUs: number;
  /** Its own CPU time then, in clock ticks from /proc (`procCpuTicks`). */
  listeningCpuTicks: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as HostProcessConfig;

async function ownerCredentials(): Promise<Credentials> {
  const client = await WireClient.open(config.tracker);
  try {
    return await signIn(client, config.owner, config.device);
  } finally {
    await client.close();
  }
}

const owner = await ownerCredentials();
let markListed: () => void = () => {};
const listed = new Promise<void>((resolve) => {
  markListed = resolve;
});
const host = await ChannelHost.start({
  dataDir: config.dataDir,
  owner: config.owner.username,
  getCredentials: () => ({ ticket: owner.ticket, key: owner.key }),
  tracker: config.tracker,
  // The load generator's own tracker on loopback: its key is not what this benchmark measures.
  trackerTrust: { check() {} },
  listenHost: "127.0.0.1",
  listenPort: config.listenPort ?? 0,
  ...(config.advertise === undefined ? {} : { advertise: config.advertise }),
  // Every member of the bench connects from loopback.
  limits: { maxConnectionsPerAddress: 0, ...config.limits },
  onChange: (channel) => {
    if (channel.name === config.channel && channel.listed) markListed();
  },
});
const listeningUs = nowUs();
const listeningCpuTicks = procCpuTicks(process.pid);
// On a restart the stored channel is re-listed by the host itself; `host()` then returns at once.
const hosted = await host.host(config.channel);
if (!hosted.listed) await withDeadline(listed, 30_000, `listing ${config.channel}`);

const parent = serveParent({
  stats: processStats,
  debug: () => host.debugInfo(),
  close: () => host.close(),
});

/** How long a graceful close may take before the process gives up on it. */
const CLOSE_DEADLINE_MS = 10_000;
process.once("SIGTERM", () => {
  withDeadline(host.close(), CLOSE_DEADLINE_MS, "host close on SIGTERM").then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`host: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
});

const ready: HostReady = {
  address: host.address,
  readyUs: nowUs(),
  fingerprint: host.fingerprint,
  pid: process.pid,
  listeningUs,
  listeningCpuTicks,
};
parent.ready(ready);
