import type { PeerEvent } from "../api/index.js";
import type { SignatureVerifierPool } from "../auth/verify-pool.js";
import type { ChannelLink, ChannelLinkContext } from "../client/channel-link.js";
import type { ClientStore } from "../client/client-store.js";
import type { HostConnectionPool } from "../client/host-connection.js";
import type { TrackerSession } from "../client/tracker-session.js";
import type { TrackerTrust } from "../client/tracker-trust.js";
import type { ChannelHost } from "../host/channel-host.js";
import type { HostLimits } from "../host/limits.js";
import { wireError } from "../protocol/errors.js";
import { CHANNEL_PATTERN } from "../protocol/names.js";
import type { Address, Role } from "../protocol/tracker-schemas.js";
import type { BackoffOptions } from "../util/backoff.js";
import type { Logger } from "../util/logger.js";
import type { InstanceLock } from "./instance-lock.js";

export interface PeerOptions {
  tracker: Address;
  /**
   * The tracker's certificate fingerprint (`sha256:...`): the only key accepted, remembered from now
   * on. Without it the key seen first is trusted and kept in `<dataDir>/known-trackers.json`.
   */
  trackerFingerprint?: string;
  /** Extra CA certificates (PEM) for a tracker whose certificate a CA issued for its name. */
  trackerCa?: string[];
  /** Per-user state lives in `<dataDir>/<username lowercased>/`: client.db, host.db, session.json. */
  dataDir: string;
  /**
   * Where this peer's hosted channels listen (default 127.0.0.1, port 0: the port of the previous
   * run when it is free, else one the OS picks).
   */
  hostListen?: Address;
  /**
   * The address the tracker lists for this peer's channels instead of the listening one (a port
   * forwarded by hand). Without it a non-loopback listener asks the router for a port mapping.
   */
  hostAdvertise?: Address;
  /** Ask the router to forward the hosting port (default true; only for non-loopback listeners). */
  portMapping?: boolean;
  /** Delays between reconnect attempts to the tracker and to hosts. */
  backoff?: BackoffOptions;
  /** How long a request waits for its response, and for the tracker to be reachable (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * How long `resume` waits for an unreachable tracker before it starts offline with the saved,
   * unexpired ticket (default: `requestTimeoutMs`). Time the tracker has already been out of reach counts.
   */
  offlineAfterMs?: number;
  /**
   * Quiet time after which every link of this peer (to the tracker, to hosts, and its own host's)
   * sends `PING` (default 10 s); two missed answers close the link.
   */
  heartbeatIntervalMs?: number;
  /** Fraction of the ticket's remaining lifetime after which it is renewed (default 0.5). */
  ticketRenewFraction?: number;
  /** Earliest a ticket renewal runs after the last one (default 1 s). */
  ticketRenewMinDelayMs?: number;
  /** Most `LIST` pages of the directory fetched at once (default 100, of 500 channels each). */
  maxDirectoryPages?: number;
  logger?: Logger;
  hostLimits?: Partial<HostLimits>;
}

/** Everything that belongs to the signed-in user, opened at sign-in and closed at sign-out. */
export interface UserState {
  username: string;
  role: Role;
  dir: string;
  /** Keeps a second peer off this user directory while this one is signed in. */
  lock: InstanceLock;
  store: ClientStore;
  links: Map<string, ChannelLink>;
  /** Links opened by a `join` that has not settled: a refusal is that call's error, not a `left` event. */
  joining: Set<ChannelLink>;
  linkContext: ChannelLinkContext;
  channelHost?: ChannelHost;
  hostStarting?: Promise<ChannelHost>;
}

/** What the facade's parts share: the options, the connections, the event stream and the signed-in user. */
export interface PeerContext {
  readonly options: PeerOptions;
  readonly logger: Logger;
  readonly tracker: TrackerSession;
  /** How the tracker's certificate is checked, on the peer's link and its host's. */
  readonly trackerTrust: TrackerTrust;
  readonly pool: HostConnectionPool;
  /** Threads for checking the signatures of whole pages of messages. */
  readonly verifierPool: SignatureVerifierPool;
  emit(event: PeerEvent): void;
  /** The signed-in user's state; undefined while nobody is signed in. */
  user(): UserState | undefined;
  /** The signed-in user's state, else a `NOT_SIGNED_IN` error (or a plain one once the peer is closed). */
  requireUser(): UserState;
}

export function checkChannelName(channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) {
    throw wireError("BAD_REQUEST", "channel name must match ^[A-Za-z0-9_.-]{1,64}$");
  }
  return channel;
}
