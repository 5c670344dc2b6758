/**
 * A channel host in its own process: signs its owner in on the tracker, starts a ChannelHost
 * on 127.0.0.1 with one channel, and reports its address once the tracker lists the channel.
 * Config: JSON in argv[2].
 */
import { ChannelHost } from "../../src/host/channel-host.js";
import type { HostLimits } from "../../src/host/limits.js";
import { processStats, serveParent } from "../lib/child.js";
import { nowUs } from "../lib/clock.js";
import { withDeadline } from "../lib/deadline.js";
import { type Address, WireClient } from "../lib/wire.js";

export interface HostProcessConfig {
  dataDir: string;
  tracker: Address;
  owner: { username: string; password: string };
  channel: string;
  limits: Partial<HostLimits>;
}

export interface HostReady {
  address: Address;
  /** When the channel was listed (monotonic microseconds). */
  readyUs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as HostProcessConfig;

async function ownerTicket(): Promise<string> {
  const client = await WireClient.open(config.tracker);
  try {
    const body = await client.request<{ ticket: string }>("SIGNIN", config.owner);
    return body.ticket;
  } finally {
    await client.close();
  }
}

const ticket = await ownerTicket();
let markListed: () => void = () => {};
const listed = new Promise<void>((resolve) => {
  markListed = resolve;
});
const host = await ChannelHost.start({
  dataDir: config.dataDir,
  owner: config.owner.username,
  getTicket: () => ticket,
  tracker: config.tracker,
  // The load generator's own tracker on loopback: its key is not what this benchmark measures.
  trackerTrust: { check() {} },
  listenHost: "127.0.0.1",
  listenPort: 0,
  limits: config.limits,
  onChange: (channel) => {
    if (channel.name === config.channel && channel.listed) markListed();
  },
});
// On a restart the stored channel is re-listed by the host itself; `host()` then returns at once.
const hosted = await host.host(config.channel);
if (!hosted.listed) await withDeadline(listed, 30_000, `listing ${config.channel}`);

const parent = serveParent({
  stats: processStats,
  debug: () => host.debugInfo(),
  close: () => host.close(),
});
const ready: HostReady = { address: host.address, readyUs: nowUs() };
parent.ready(ready);
