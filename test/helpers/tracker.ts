import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeviceKey } from "../../src/auth/device-key.js";
import type { PasswordHashOptions } from "../../src/auth/password.js";
import { type TrackerOptions, TrackerServer } from "../../src/tracker/server.js";
import { pinnedTrust, type ServerTrust } from "../../src/transport/trust.js";
import { silentLogger } from "../../src/util/logger.js";
import { type NetAddress, TestClient } from "./client.js";

/** A scrypt cost that hashes in about a millisecond: for tests only. */
export const TEST_PASSWORD_HASH: PasswordHashOptions = { logN: 10, r: 8, p: 1 };
export const TEST_PASSWORD = "correct horse battery";

export interface TestTracker {
  tracker: TrackerServer;
  dataDir: string;
  address: NetAddress;
  /** Closes the tracker, and removes its data dir when the helper created it. */
  close(): Promise<void>;
}

/**
 * Starts a real tracker on 127.0.0.1, port 0, with a cheap scrypt cost and no logs. Without
 * `dataDir` it uses a fresh temporary one; with it (to restart on the same data) the caller keeps it.
 */
export async function startTestTracker(options: Partial<TrackerOptions> = {}): Promise<TestTracker> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "hychat-tracker-"));
  let tracker: TrackerServer;
  try {
    tracker = await TrackerServer.start({
      host: "127.0.0.1",
      port: 0,
      passwordHash: TEST_PASSWORD_HASH,
      logger: silentLogger,
      ...options,
      dataDir,
    });
  } catch (error) {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    tracker,
    dataDir,
    address: tracker.address,
    async close() {
      await tracker.close();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A well-formed host key fingerprint, for HOST requests of tests that run no host. */
export const TEST_FINGERPRINT = `sha256:${"ab".repeat(32)}`;

/** Accepts exactly the certificate of `tracker`, as a peer that pinned it would. */
export function trustTestTracker(tracker: TestTracker | TrackerServer): ServerTrust {
  const fingerprint = "tracker" in tracker ? tracker.tracker.fingerprint : tracker.fingerprint;
  return pinnedTrust(fingerprint, "TRACKER_KEY_MISMATCH", "the tracker");
}

export interface SignedInClient {
  client: TestClient;
  username: string;
  ticket: string;
  /** The device key the ticket certifies (also registered: `keyOfTicket(ticket)`). */
  key: DeviceKey;
}

export interface ConnectUserOptions {
  /** The device id to sign in from (default `test-device-<username lowercased>`). */
  device?: string;
  /** The device key (default a fresh one). */
  key?: DeviceKey;
}

/** Connects and signs in as `username`, creating the account first when it does not exist yet. */
export async function connectUser(
  address: NetAddress,
  username: string,
  password: string = TEST_PASSWORD,
  options: ConnectUserOptions = {},
): Promise<SignedInClient> {
  const client = await TestClient.connect(address);
  try {
    const signup = await client.request("SIGNUP", { username, password }).catch((error: unknown) => error);
    if (signup instanceof Error && (signup as { code?: string }).code !== "USERNAME_TAKEN") throw signup;
    const key = options.key ?? DeviceKey.generate();
    const reply = await client.request(
      "SIGNIN",
      { username, password, ...(options.device === undefined ? {} : { device: options.device }) },
      { key },
    );
    return { client, username: reply.username as string, ticket: reply.ticket as string, key };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** Connects and enters as a guest (`guest-NAME`, or a name the tracker picks). */
export async function connectGuest(
  address: NetAddress,
  name?: string,
  options: { key?: DeviceKey } = {},
): Promise<SignedInClient> {
  const client = await TestClient.connect(address);
  try {
    const key = options.key ?? DeviceKey.generate();
    const reply = await client.request("GUEST", name === undefined ? {} : { username: name }, { key });
    return { client, username: reply.username as string, ticket: reply.ticket as string, key };
  } catch (error) {
    await client.close();
    throw error;
  }
}
