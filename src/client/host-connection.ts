import type { Duplex } from "node:stream";
import { proofBytes } from "../auth/canonical.js";
import type { DeviceKey } from "../auth/device-key.js";
import { ConnectionError } from "../protocol/errors.js";
import { type HostCommand, type HostRequestBodies, hostLinkSpec } from "../protocol/host-schemas.js";
import type { Address, ChannelListing, Reach } from "../protocol/tracker-schemas.js";
import { addressKey, DEFAULT_CONNECT_TIMEOUT_MS } from "../transport/dial.js";
import { type LinkOptions, ReconnectingClient } from "../transport/reconnecting-client.js";
import type { RelayRoute } from "../transport/relay-dial.js";
import { pinnedTrust } from "../transport/trust.js";
import type { EventOf, ReplyOf } from "../transport/typed-connection.js";
import type { Logger } from "../util/logger.js";

export interface HostConnectionOptions extends LinkOptions {
  logger: Logger;
  /**
   * The tracker's relay and what to dial it with (the member's ticket and key), for hosts whose
   * address does not answer; undefined while there is none (signed out, no tracker link yet).
   */
  relay?: () => RelayCredentials | undefined;
}

/** Where the relay is, the key it must present, and the member's ticket and key to dial it with. */
export interface RelayCredentials {
  address: Address;
  fingerprint: string;
  ticket: string;
  key: DeviceKey;
}

/** A direct dial to a host the tracker could not reach itself gets this long before the relay is tried. */
const DIRECT_BEFORE_RELAY_MS = 1_500;

type HostSpec = typeof hostLinkSpec;

/** Where a channel's host is and which key it must present there. */
export interface HostEndpoint {
  address: Address;
  /** The fingerprint the tracker listed for the host's certificate. */
  fingerprint: string;
  /** This peer's own host: a stream to it in this process instead of a TLS dial. */
  local?: () => Duplex;
  /** How the tracker found members reach it (`relay`: a direct dial is tried only briefly). */
  reach?: Reach | null;
}

/** The endpoint of a listing that is online, else null. */
export function listedEndpoint(listing: ChannelListing | undefined): HostEndpoint | null {
  if (listing?.online !== true || listing.address === null || listing.fingerprint === null) return null;
  return { address: listing.address, fingerprint: listing.fingerprint, reach: listing.reach };
}

/** One key per host identity: the same address with another key is another host. */
export function endpointKey(endpoint: HostEndpoint): string {
  return `${addressKey(endpoint.address)} ${endpoint.fingerprint}`;
}

/** An event from a channel host, checked against the protocol's schema. */
export type HostEvent = EventOf<HostSpec>;

/** One joined channel's view of the connection it shares with the other channels on that host. */
export interface HostChannelListener {
  /** The connection is open (again): the channel must send CONNECT. */
  up(): void;
  /** The connection dropped, or a dial failed; a redial follows by itself. */
  down(error: unknown): void;
  event(event: HostEvent): void;
}

/**
 * The member's one connection to a channel host, shared by every channel joined on it, on the
 * shared `ReconnectingClient`. It redials with backoff while any channel is attached, and closes
 * when the last one detaches.
 */
export class HostConnection {
  readonly endpoint: HostEndpoint;
  readonly key: string;
  private readonly channels = new Map<string, HostChannelListener>();
  private readonly onIdle: (connection: HostConnection) => void;
  private readonly client: ReconnectingClient<HostRequestBodies, HostSpec>;
  private closedForGood = false;
  /** Relay dials so far, to take the attached channels in turn. */
  private relayDials = 0;

  /** `onIdle` runs when the last channel detaches; it is expected to close the connection. */
  constructor(
    endpoint: HostEndpoint,
    options: HostConnectionOptions,
    onIdle: (connection: HostConnection) => void,
  ) {
    this.endpoint = endpoint;
    this.key = endpointKey(endpoint);
    this.onIdle = onIdle;
    this.client = new ReconnectingClient<HostRequestBodies, HostSpec>({
      ...options,
      server: "host",
      address: endpoint.address,
      trust: pinnedTrust(endpoint.fingerprint, "HOST_KEY_MISMATCH", "the channel host"),
      ...(endpoint.local === undefined ? {} : { connectLocal: endpoint.local }),
      relay: () => this.relayRoute(options),
      directTimeoutMs: () =>
        this.endpoint.reach === "relay"
          ? DIRECT_BEFORE_RELAY_MS
          : (options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
      spec: hostLinkSpec,
      onUp: () => {
        for (const listener of [...this.channels.values()]) listener.up();
      },
      onDown: (error) => {
        for (const listener of [...this.channels.values()]) listener.down(error);
      },
      onEvent: (event) => this.channels.get(event.body.channel)?.event(event),
      shouldRedial: () => this.channels.size > 0,
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Up through the tracker's relay rather than at the host's own address. */
  get relayed(): boolean {
    return this.client.relayed;
  }

  get channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** Routes a channel's events here and dials if needed; the caller sends CONNECT once `connected`. */
  attach(channel: string, listener: HostChannelListener): void {
    if (this.closedForGood)
      throw new ConnectionError("CONNECTION_CLOSED", `connection to ${this.key} is closed`);
    this.channels.set(channel, listener);
    this.client.start();
  }

  detach(channel: string, listener: HostChannelListener): void {
    if (this.channels.get(channel) !== listener) return;
    this.channels.delete(channel);
    if (this.channels.size === 0) this.onIdle(this);
  }

  /** Dials now instead of waiting out the backoff (the tracker says the host is back). */
  retryNow(): void {
    this.client.retryNow();
  }

  /**
   * Sends `CONNECT` with the proof that this user holds the ticket's key, made for this connection's
   * challenge, this host's key and the channel; fails at once with `CONNECTION_CLOSED` while down.
   */
  connect(
    body: Omit<HostRequestBodies["CONNECT"], "proof">,
    key: DeviceKey,
  ): Promise<ReplyOf<HostSpec, "CONNECT">> {
    const link = this.client.link;
    if (link === undefined) {
      return Promise.reject(new ConnectionError("CONNECTION_CLOSED", `not connected to ${this.key}`));
    }
    const proof = key.sign(
      proofBytes({
        purpose: "CONNECT",
        fingerprint: link.serverFingerprint,
        challenge: link.challenge,
        channel: body.channel,
      }),
    );
    return link.request("CONNECT", { ...body, proof });
  }

  /** Sends a request on the open connection; fails at once with `CONNECTION_CLOSED` while it is down. */
  request<C extends HostCommand>(command: C, body: HostRequestBodies[C]): Promise<ReplyOf<HostSpec, C>> {
    return this.client.request(command, body, { waitMs: 0 });
  }

  debugInfo(): Record<string, unknown> {
    return { ...this.client.debugInfo(), channels: this.channelNames };
  }

  /**
   * The relay dial for one of the channels attached here (the relay finds the host by channel and
   * key), a different one each dial: one that went offline or moved must not keep the rest away.
   */
  private relayRoute(options: HostConnectionOptions): RelayRoute | undefined {
    const channels = [...this.channels.keys()];
    const via = options.relay?.();
    if (channels.length === 0 || via === undefined) return undefined;
    const channel = channels[this.relayDials % channels.length] as string;
    this.relayDials += 1;
    return {
      address: via.address,
      fingerprint: via.fingerprint,
      channel,
      hostFingerprint: this.endpoint.fingerprint,
      authorize: (request) => ({
        ticket: via.ticket,
        proof: via.key.sign(proofBytes({ purpose: "RELAY_DIAL", ...request })),
      }),
    };
  }

  /** Stops redialing and closes the connection; resolves once it is closed and its requests settled. */
  close(): Promise<void> {
    this.closedForGood = true;
    return this.client.close();
  }
}

/** Connections to channel hosts by endpoint: channels on the same host share one connection. */
export class HostConnectionPool {
  private readonly connections = new Map<string, HostConnection>();
  /** Idle connections still closing, so `close` can wait for them too. */
  private readonly closing = new Set<Promise<void>>();

  constructor(private readonly options: HostConnectionOptions) {}

  get(endpoint: HostEndpoint): HostConnection {
    const key = endpointKey(endpoint);
    let connection = this.connections.get(key);
    if (connection === undefined) {
      connection = new HostConnection(endpoint, this.options, (idle) => {
        if (this.connections.get(idle.key) === idle) this.connections.delete(idle.key);
        const closed = idle.close();
        this.closing.add(closed);
        void closed.finally(() => this.closing.delete(closed));
      });
      this.connections.set(key, connection);
    }
    return connection;
  }

  all(): HostConnection[] {
    return [...this.connections.values()];
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all([...connections.map((connection) => connection.close()), ...this.closing]);
  }
}
