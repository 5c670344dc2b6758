import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChannelHost, type ChannelHostOptions } from "../../src/host/channel-host.js";
import type { HostOkBodies } from "../../src/protocol/host-schemas.js";
import { silentLogger } from "../../src/util/logger.js";
import { type NetAddress, TestClient } from "./client.js";
import {
  connectUser,
  type SignedInClient,
  startTestTracker,
  type TestTracker,
  trustTestTracker,
} from "./tracker.js";

/** Reconnect delays small enough that a test sees the liveness link come back quickly. */
export const TEST_BACKOFF = { initialMs: 20, maxMs: 200 };

export interface TestHostOptions
  extends Partial<Omit<ChannelHostOptions, "owner" | "getCredentials" | "tracker">> {
  /** A tracker to register with; without it one is started (and closed with the host). */
  tracker?: TestTracker;
  /** The owning user, signed in on the tracker (default "owner"). */
  owner?: string;
}

export interface TestHost {
  host: ChannelHost;
  tracker: TestTracker;
  /** The owner's own tracker connection and ticket. */
  owner: SignedInClient;
  dataDir: string;
  address: NetAddress;
  /** Closes the host, the owner's tracker connection, and what the helper created (tracker, data dir). */
  close(): Promise<void>;
}

/**
 * Starts a real `ChannelHost` on 127.0.0.1 port 0 for a signed-in owner, against a test tracker.
 * Without `dataDir` it uses a fresh temporary one; with it (to restart on the same data) the caller keeps it.
 */
export async function startTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const { tracker: givenTracker, owner: ownerName = "owner", ...hostOptions } = options;
  const tracker = givenTracker ?? (await startTestTracker());
  const ownsDataDir = hostOptions.dataDir === undefined;
  const dataDir = hostOptions.dataDir ?? mkdtempSync(join(tmpdir(), "hychat-host-"));
  let owner: SignedInClient | undefined;
  try {
    owner = await connectUser(tracker.address, ownerName);
    const { ticket, key } = owner;
    const host = await ChannelHost.start({
      logger: silentLogger,
      backoff: TEST_BACKOFF,
      ...hostOptions,
      dataDir,
      owner: owner.username,
      getCredentials: () => ({ ticket, key }),
      tracker: tracker.address,
      trackerTrust: trustTestTracker(tracker),
    });
    const signedIn = owner;
    return {
      host,
      tracker,
      owner: signedIn,
      dataDir,
      address: host.address,
      async close() {
        await host.close();
        await signedIn.client.close();
        if (givenTracker === undefined) await tracker.close();
        if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await owner?.client.close();
    if (givenTracker === undefined) await tracker.close();
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

export interface JoinedMember {
  client: TestClient;
  joined: HostOkBodies["CONNECT"];
}

/** Opens a connection to a host and `CONNECT`s it to `channel` with `ticket`. */
export async function connectMember(
  address: NetAddress,
  ticket: string,
  channel: string,
  extra: { since?: number; invisible?: boolean } = {},
): Promise<JoinedMember> {
  const client = await TestClient.connect(address);
  try {
    const joined = (await client.request("CONNECT", {
      channel,
      ticket,
      ...extra,
    })) as HostOkBodies["CONNECT"];
    return { client, joined };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/**
 * The connections a test file opens to its one host, closed together in its `after`. `join` and
 * `client` are bound functions, to be used as the file's own.
 */
export class HostConnections {
  private readonly clients: TestClient[] = [];

  constructor(private readonly address: () => NetAddress) {}

  /** A member `CONNECT`ed to `channel` with `ticket` (see `connectMember`). */
  readonly join = async (
    ticket: string,
    channel: string,
    extra: { since?: number; invisible?: boolean } = {},
  ): Promise<JoinedMember> => {
    const member = await connectMember(this.address(), ticket, channel, extra);
    this.clients.push(member.client);
    return member;
  };

  /** A connection that has sent nothing yet. */
  readonly client = async (): Promise<TestClient> => {
    const connection = await TestClient.connect(this.address());
    this.clients.push(connection);
    return connection;
  };

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}

/** Sends a message as `sender` and waits until `watcher` has it: every event sent before it has arrived. */
export async function barrier(
  sender: TestClient,
  watcher: TestClient,
  channel: string,
  msgId: string,
): Promise<void> {
  await sender.request("MESSAGE", { channel, msgId, text: msgId });
  await watcher.nextEvent("MESSAGE", (body) => body.msgId === msgId);
}
