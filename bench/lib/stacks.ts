import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import type { PasswordHashOptions } from "../../src/auth/password.js";
import type { HostLimits } from "../../src/host/limits.js";
import type { HostProcessConfig, HostReady } from "../processes/host.js";
import type { MembersSetup } from "../processes/members.js";
import type { TrackerProcessConfig } from "../processes/tracker.js";
import { type Credentials, deviceIdFor, signIn } from "./credentials.js";
import { BenchChild } from "./processes.js";
import { type Address, WireClient } from "./wire.js";

/** A small scrypt cost for accounts the bench creates; the SIGNIN figure uses the shipped one. */
export const BENCH_PASSWORD_HASH: PasswordHashOptions = { logN: 10, r: 8, p: 1 };
export const OWNER = { username: "benchowner", password: "bench-owner-password" };

export type AddressReady = { address: Address };
export type ServerChild = BenchChild<AddressReady>;

export function startTracker(dataDir: string, passwordHash = BENCH_PASSWORD_HASH): Promise<ServerChild> {
  const config: TrackerProcessConfig = { dataDir, passwordHash };
  return BenchChild.start<AddressReady>("tracker.ts", { name: "tracker", args: [JSON.stringify(config)] });
}

/** The baseline server, over TLS 1.3 like hychat (default) or over plain TCP. */
export function startBaseline(transport: "tls" | "plain" = "tls"): Promise<ServerChild> {
  return BenchChild.start<AddressReady>("baseline-server.ts", {
    name: transport === "tls" ? "baseline server" : "plain-TCP baseline server",
    args: [JSON.stringify({ tls: transport === "tls" })],
  });
}

async function signUpOn(client: WireClient, account: { username: string; password: string }): Promise<void> {
  await client.request("SIGNUP", account).catch((error: { code?: string }) => {
    if (error.code !== "USERNAME_TAKEN") throw error;
  });
}

/** Creates the account (or accepts that it exists). */
export async function signUp(
  tracker: Address,
  account: { username: string; password: string },
): Promise<void> {
  const client = await WireClient.open(tracker);
  try {
    await signUpOn(client, account);
  } finally {
    await client.close();
  }
}

/**
 * Creates the account (or accepts that it exists) and signs it in on `device` (default
 * `bench-<username>`) with a fresh key: the ticket and key to use. Signing in again on the same
 * device revokes this ticket, so identities used at once each need their own device.
 */
export async function signUpAndIn(
  tracker: Address,
  account: { username: string; password: string },
  device = deviceIdFor(account.username),
): Promise<Credentials> {
  const client = await WireClient.open(tracker);
  try {
    await signUpOn(client, account);
    return await signIn(client, account, device);
  } finally {
    await client.close();
  }
}

export interface HostStackOptions {
  workDir: string;
  name: string;
  tracker: Address;
  channel: string;
  limits?: Partial<HostLimits>;
  nodeFlags?: string[];
  /** Reuse a data dir (a restart). */
  dataDir?: string;
  /** A fixed listen port (a restart where members redial the same address); default: the OS picks. */
  listenPort?: number;
  /** The address the tracker lists instead of the listening one (see `HostProcessConfig.advertise`). */
  advertise?: Address;
}

/** A channel host process owned by OWNER, hosting one channel, with the send rate limit off. */
export function startHost(options: HostStackOptions): Promise<BenchChild<HostReady>> {
  const config: HostProcessConfig = {
    dataDir: options.dataDir ?? join(options.workDir, options.name),
    tracker: options.tracker,
    owner: OWNER,
    // Its own device: a restarted host (same name) replaces its earlier ticket, no other one.
    device: deviceIdFor(options.name),
    channel: options.channel,
    limits: { sendRatePerSecond: 0, ...options.limits },
    ...(options.listenPort === undefined ? {} : { listenPort: options.listenPort }),
    ...(options.advertise === undefined ? {} : { advertise: options.advertise }),
  };
  return BenchChild.start<HostReady>("host.ts", {
    name: options.name,
    args: [JSON.stringify(config)],
    nodeFlags: options.nodeFlags,
  });
}

/** An address on loopback nobody answers: a port the OS just handed out, closed again. */
export async function unansweredAddress(): Promise<Address> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { host: "127.0.0.1", port };
}

/** How long joining may take per connection on a loaded machine, on top of a fixed allowance. */
const JOIN_MS_PER_CONNECTION = 60;

/** A load process holding `setup.count` joined (or signed-in) connections open. */
export async function holdConnections(name: string, setup: MembersSetup): Promise<BenchChild> {
  const members = await BenchChild.start("members.ts", { name });
  await members.call("setup", setup, 30_000 + setup.count * JOIN_MS_PER_CONNECTION);
  return members;
}
