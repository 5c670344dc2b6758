import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { endianness, networkInterfaces } from "node:os";
import { type Gateway, pmpNat, upnpNat } from "@achingbrain/nat-port-mapper";
import type { Logger } from "../util/logger.js";

/** Where members outside the router reach the host, once the router forwards a port to it. */
export interface MappedAddress {
  host: string;
  port: number;
}

export interface PortMapperOptions {
  /** The address the host server listens on: loopback is never mapped; `0.0.0.0`/`::` map the default route's address. */
  internalHost: string;
  internalPort: number;
  logger: Logger;
  /** Bound on finding a gateway, and on each request to it (default 5000). */
  timeoutMs?: number;
  /** Lifetime asked for the mapping, in seconds (default 3600); renewed at half of it. */
  lifetimeSeconds?: number;
  /** After `start`, the mapped address changed: another one on renewal, or `undefined` when it was lost. */
  onChange?(address: MappedAddress | undefined): void;
}

export interface DefaultRoute {
  gateway: string;
  iface: string;
}

type MappingProtocol = "nat-pmp" | "upnp";

interface Mapping {
  protocol: MappingProtocol;
  gateway: Gateway;
  internalHost: string;
  address: MappedAddress;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_LIFETIME_SECONDS = 3_600;
/** The library never asks a UPnP gateway for a shorter lease than this. */
const UPNP_MIN_LEASE_SECONDS = 3_600;
const DESCRIPTION = "hychat";
/** RTF_UP | RTF_GATEWAY in /proc/net/route's Flags. */
const ROUTE_UP_GATEWAY = 0x3;

/**
 * Best-effort port mapping for a host behind a home router: asks the default gateway over NAT-PMP
 * and any UPnP IGD on the LAN at once, keeps the first mapping that works and renews it itself.
 * Every failure is a debug line and an `undefined` address; members then go through the relay.
 */
export class PortMapper {
  private readonly options: PortMapperOptions;
  private readonly timeoutMs: number;
  private readonly lifetimeSeconds: number;
  /** Aborted by `stop`: cuts short whatever request is in flight. */
  private readonly closing = new AbortController();
  private mapping: Mapping | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** `start` and renewals, one at a time, so `stop` can wait for the one in flight. */
  private busy: Promise<unknown> = Promise.resolve();
  private started: Promise<MappedAddress | undefined> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(options: PortMapperOptions) {
    this.options = options;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  }

  /** The mapped address now, if any. */
  get current(): MappedAddress | undefined {
    return this.mapping?.address;
  }

  /** Maps the port; resolves with the external address, or `undefined` (never rejects) within about `timeoutMs`. */
  start(): Promise<MappedAddress | undefined> {
    this.started ??= this.serially(async () => {
      if (this.closing.signal.aborted) return undefined;
      this.mapping = await this.acquire();
      if (this.mapping !== undefined) this.schedule();
      return this.mapping?.address;
    });
    return this.started;
  }

  /** Removes the mapping and closes the gateways' sockets; bounded, a few `timeoutMs` at worst. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.closing.abort();
      clearTimeout(this.timer);
      await this.busy;
      const mapping = this.mapping;
      this.mapping = undefined;
      if (mapping !== undefined) await this.release(mapping);
    })();
    return this.stopped;
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.closing.signal.aborted || this.mapping === undefined) return;
    const leaseSeconds =
      this.mapping.protocol === "upnp"
        ? Math.max(this.lifetimeSeconds, UPNP_MIN_LEASE_SECONDS)
        : this.lifetimeSeconds;
    this.timer = setTimeout(() => void this.serially(() => this.renew()), leaseSeconds * 500);
    // A pending renewal is no reason to keep the process alive.
    this.timer.unref();
  }

  /** Renews the mapping; when the gateway does not answer, looks for one again once. */
  private async renew(): Promise<void> {
    const mapping = this.mapping;
    if (mapping === undefined || this.closing.signal.aborted) return;
    let address: MappedAddress | undefined;
    try {
      address = await this.map(mapping, mapping.gateway, mapping.address.port);
      this.mapping = { ...mapping, address };
    } catch (error) {
      if (this.closing.signal.aborted) return;
      this.options.logger.debug({ err: error, protocol: mapping.protocol }, "port mapping renewal failed");
      this.mapping = undefined;
      await this.release(mapping);
      this.mapping = await this.acquire();
      // Stopping: whatever was acquired is `stop`'s to remove, and nobody is to be told.
      if (this.closing.signal.aborted) return;
      address = this.mapping?.address;
    }
    if (address?.host !== mapping.address.host || address?.port !== mapping.address.port) {
      this.options.logger.info({ address }, "mapped address changed");
      this.options.onChange?.(address);
    }
    this.schedule();
  }

  /** Tries NAT-PMP and UPnP at once; the first mapping wins, any later one is removed again. */
  private async acquire(): Promise<Mapping | undefined> {
    const { logger } = this.options;
    const internalHost = await mappableHost(this.options.internalHost);
    if (internalHost === undefined) {
      logger.debug({ host: this.options.internalHost }, "not a LAN IPv4 address: no port mapping");
      return undefined;
    }
    const race = new AbortController();
    const signal = AbortSignal.any([race.signal, this.closing.signal, AbortSignal.timeout(this.timeoutMs)]);
    const route = await readDefaultRoute();
    const attempts: [MappingProtocol, Promise<Mapping>][] = [
      [
        "nat-pmp",
        route === undefined
          ? Promise.reject(new Error("no IPv4 default gateway"))
          : this.mapWithPmp(route.gateway, internalHost, signal),
      ],
      ["upnp", this.mapWithUpnp(internalHost, signal)],
    ];
    let winner: Mapping | undefined;
    await Promise.all(
      attempts.map(async ([protocol, attempt]) => {
        let mapping: Mapping;
        try {
          mapping = await attempt;
        } catch (error) {
          logger.debug({ err: error, protocol }, "port mapping failed");
          return;
        }
        if (winner !== undefined) {
          await this.release(mapping);
          return;
        }
        winner = mapping;
        race.abort();
      }),
    );
    if (winner !== undefined) {
      logger.info(
        { protocol: winner.protocol, internal: internalHost, external: winner.address },
        "port mapped",
      );
    }
    return winner;
  }

  private async mapWithPmp(gatewayIp: string, internalHost: string, signal: AbortSignal): Promise<Mapping> {
    // The library's own refresh re-arms itself on every unmap; renewals are done here instead.
    const gateway = pmpNat(gatewayIp, { autoRefresh: false });
    // Its socket errors are emitted as events, which would otherwise be thrown.
    if (gateway instanceof EventEmitter) {
      gateway.on("error", (error) => this.options.logger.debug({ err: error }, "NAT-PMP socket error"));
    }
    const partial = { protocol: "nat-pmp" as const, gateway, internalHost };
    try {
      return { ...partial, address: await this.map(partial, gateway, undefined, signal) };
    } catch (error) {
      await this.closeQuietly(gateway);
      throw error;
    }
  }

  private async mapWithUpnp(internalHost: string, signal: AbortSignal): Promise<Mapping> {
    for await (const gateway of upnpNat({ autoRefresh: false }).findGateways({ signal })) {
      if (gateway.family !== "IPv4") {
        await this.closeQuietly(gateway);
        continue;
      }
      const partial = { protocol: "upnp" as const, gateway, internalHost };
      try {
        return { ...partial, address: await this.map(partial, gateway, undefined, signal) };
      } catch (error) {
        this.options.logger.debug({ err: error, gateway: gateway.host }, "UPnP gateway refused the mapping");
        await this.closeQuietly(gateway);
      }
    }
    throw new Error("no UPnP gateway mapped the port");
  }

  private async map(
    mapping: Pick<Mapping, "protocol" | "internalHost">,
    gateway: Gateway,
    externalPort: number | undefined,
    signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]),
  ): Promise<MappedAddress> {
    const result = await gateway.map(this.options.internalPort, mapping.internalHost, {
      protocol: "tcp",
      autoRefresh: false,
      description: DESCRIPTION,
      // The library sends `ttl` unchanged as NAT-PMP's lifetime in seconds, but as milliseconds for UPnP.
      ttl: mapping.protocol === "nat-pmp" ? this.lifetimeSeconds : this.lifetimeSeconds * 1000,
      ...(externalPort === undefined ? {} : { externalPort }),
      signal,
    });
    const host = isIP(result.externalHost) === 4 ? result.externalHost : await gateway.externalIp({ signal });
    if (isIP(host) !== 4 || host === "0.0.0.0" || result.externalPort === 0) {
      throw new Error(`the gateway gave no usable external address (${host}:${result.externalPort})`);
    }
    return { host, port: result.externalPort };
  }

  /** Unmaps and closes, each bounded by `timeoutMs`; failures are only logged. */
  private async release(mapping: Mapping): Promise<void> {
    try {
      await mapping.gateway.unmap(this.options.internalPort, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      this.options.logger.debug(
        { err: error, protocol: mapping.protocol },
        "could not remove the port mapping",
      );
    }
    await this.closeQuietly(mapping.gateway);
  }

  private async closeQuietly(gateway: Gateway): Promise<void> {
    try {
      await gateway.stop({ signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      this.options.logger.debug({ err: error }, "closing a port-mapping gateway failed");
    }
  }
}

/**
 * The IPv4 default route with the lowest metric in `/proc/net/route`'s text, whose addresses are
 * the kernel's 32-bit words in hex, in this machine's byte order.
 */
export function parseDefaultRoute(
  text: string,
  byteOrder: "BE" | "LE" = endianness(),
): DefaultRoute | undefined {
  let best: (DefaultRoute & { metric: number }) | undefined;
  for (const line of text.split("\n").slice(1)) {
    const [iface, destination, gateway, flags, , , metric, mask] = line.trim().split(/\s+/);
    if (iface === undefined || gateway === undefined || metric === undefined) continue;
    if (destination !== "00000000" || mask !== "00000000" || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue;
    if ((Number.parseInt(flags ?? "0", 16) & ROUTE_UP_GATEWAY) !== ROUTE_UP_GATEWAY) continue;
    const bytes = Buffer.from(gateway, "hex");
    if (byteOrder === "LE") bytes.reverse();
    const candidate = { iface, gateway: [...bytes].join("."), metric: Number(metric) };
    if (best === undefined || candidate.metric < best.metric) best = candidate;
  }
  return best === undefined ? undefined : { gateway: best.gateway, iface: best.iface };
}

async function readDefaultRoute(): Promise<DefaultRoute | undefined> {
  try {
    return parseDefaultRoute(await readFile("/proc/net/route", "utf8"));
  } catch {
    // Not Linux: no NAT-PMP, UPnP discovery still runs.
    return undefined;
  }
}

/**
 * The IPv4 address a gateway should forward to, or undefined when there is none to map: loopback,
 * IPv6 (no NAT to get through), a host name. A wildcard becomes the default route's interface address.
 */
async function mappableHost(listenHost: string): Promise<string | undefined> {
  const host = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(listenHost)?.[1] ?? listenHost;
  if (host === "0.0.0.0" || host === "::" || host === "") {
    const route = await readDefaultRoute();
    // The default route's interface first: that is the side the gateway is on.
    const candidates = Object.entries(networkInterfaces())
      .sort(([a], [b]) => Number(b === route?.iface) - Number(a === route?.iface))
      .flatMap(([, addresses]) => addresses ?? []);
    return candidates.find((a) => a.family === "IPv4" && !a.internal && !a.address.startsWith("169.254."))
      ?.address;
  }
  if (isIP(host) !== 4 || host.startsWith("127.")) return undefined;
  return host;
}
