import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PeerEvent } from "../../src/api/index.js";
import { Peer, type PeerOptions } from "../../src/peer/peer.js";
import type { Address } from "../../src/protocol/tracker-schemas.js";
import { silentLogger } from "../../src/util/logger.js";

/** Reconnect delays small enough that a test waits milliseconds, not seconds, for a redial. */
export const FAST_BACKOFF = { initialMs: 5, maxMs: 50, factor: 2, jitter: 0 };
/** Generous: CPU is shared with other test processes. */
export const WAIT_MS = 20_000;

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function openPeer(
  tracker: Address,
  dataDir: string,
  options: Partial<PeerOptions> = {},
): Promise<Peer> {
  return Peer.open({
    tracker,
    dataDir,
    backoff: FAST_BACKOFF,
    requestTimeoutMs: 5_000,
    logger: silentLogger,
    hostLimits: { sendRatePerSecond: 0 },
    ...options,
  });
}

/**
 * The peers a test file opens on one data directory, closed together in its `after`. `open` and
 * `close` are bound functions, to be used as the file's own `peer()` and `closePeer()`.
 */
export class OpenPeers {
  private readonly peers = new Set<Peer>();

  /** `tracker` is read at each open: a test may restart the tracker. */
  constructor(
    private readonly tracker: () => Address,
    private readonly dataDir: string,
    private readonly defaults: Partial<PeerOptions> = {},
  ) {}

  readonly open = async (options: Partial<PeerOptions> = {}): Promise<Peer> => {
    return this.add(await openPeer(this.tracker(), this.dataDir, { ...this.defaults, ...options }));
  };

  readonly close = async (peer: Peer): Promise<void> => {
    this.peers.delete(peer);
    await peer.close();
  };

  /** Takes a peer opened some other way, to close it with the rest. */
  add(peer: Peer): Peer {
    this.peers.add(peer);
    return peer;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.peers].map((peer) => peer.close()));
  }
}

/** Takes `port` on 127.0.0.1 with a server that drops every connection, as another program might. */
export function occupyPort(port: number): Promise<{ close(): Promise<void> }> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({ close: () => new Promise((closed) => server.close(() => closed())) });
    });
  });
}

type Matching<T extends PeerEvent["type"]> = Extract<PeerEvent, { type: T }>;

/** Every event a peer emitted, and a way to wait for the next one that matches. */
export class EventLog {
  readonly events: PeerEvent[] = [];
  private readonly waiters = new Set<{ check(event: PeerEvent): boolean }>();
  readonly unsubscribe: () => void;

  constructor(peer: Peer) {
    this.unsubscribe = peer.subscribe((event) => {
      this.events.push(event);
      for (const waiter of [...this.waiters]) waiter.check(event);
    });
  }

  of<T extends PeerEvent["type"]>(type: T): Matching<T>[] {
    return this.events.filter((event): event is Matching<T> => event.type === type);
  }

  /** Resolves with the first event of `type` matching `predicate`, already seen or still to come. */
  waitFor<T extends PeerEvent["type"]>(
    type: T,
    predicate: (event: Matching<T>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<Matching<T>> {
    const seen = this.of(type).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return this.next(type, predicate, timeoutMs);
  }

  /** Like `waitFor`, but only events emitted from now on. */
  next<T extends PeerEvent["type"]>(
    type: T,
    predicate: (event: Matching<T>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<Matching<T>> {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: (event: PeerEvent) => {
          if (event.type !== type || !predicate(event as Matching<T>)) return false;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(event as Matching<T>);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${type} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits until `count` events of `type` match `predicate` in total. */
  async waitForCount<T extends PeerEvent["type"]>(
    type: T,
    count: number,
    predicate: (event: Matching<T>) => boolean = () => true,
    timeoutMs = WAIT_MS,
  ): Promise<Matching<T>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.of(type).filter(predicate);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`only ${matching.length} of ${count} ${type} events within ${timeoutMs} ms`);
      await this.next(type, predicate, left);
    }
  }
}

export function messageTexts(log: EventLog, channel: string): string[] {
  return log
    .of("message")
    .filter((event) => event.message.channel === channel)
    .map((event) => event.message.text);
}
