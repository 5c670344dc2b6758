import { connect } from "node:tls";
import { Connection, type ConnectionOptions } from "../../src/protocol/connection.js";
import { HychatError } from "../../src/protocol/errors.js";
import type { EventFrame } from "../../src/protocol/frames.js";
import { fingerprintOf } from "../../src/transport/tls-identity.js";

export interface NetAddress {
  host: string;
  port: number;
}

interface EventWaiter {
  name: string;
  matches(body: Record<string, unknown>): boolean;
  resolve(frame: EventFrame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A test's side of one TLS connection to a tracker or host (any certificate accepted): requests through a real `Connection`,
 * and every pushed event kept until a test takes it.
 */
export class TestClient {
  readonly connection: Connection;
  /** Events received and not yet taken by `nextEvent`, oldest first. */
  readonly events: EventFrame[] = [];
  /** Resolves once the connection has closed, from either side. */
  readonly closed: Promise<void>;
  /** The fingerprint of the certificate the server presented. */
  serverFingerprint = "";
  private readonly waiters = new Set<EventWaiter>();

  private constructor(connection: Connection, closed: Promise<void>) {
    this.connection = connection;
    this.closed = closed;
  }

  /** Opens a connection; resolves once it is established. */
  static connect(address: NetAddress, options: ConnectionOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: address.port, host: address.host, rejectUnauthorized: false });
      let client: TestClient | undefined;
      let markClosed: () => void = () => {};
      const closed = new Promise<void>((resolveClosed) => {
        markClosed = resolveClosed;
      });
      const connection = new Connection(
        socket,
        {
          onEvent: (frame) => client?.deliver(frame),
          onClose: (_connection, error) => {
            client?.rejectWaiters(new Error("connection closed", { cause: error }));
            markClosed();
          },
        },
        options,
      );
      client = new TestClient(connection, closed);
      socket.once("secureConnect", () => {
        socket.off("error", reject);
        const connected = client as TestClient;
        connected.serverFingerprint = fingerprintOf(socket.getPeerCertificate().raw);
        resolve(connected);
      });
      socket.once("error", reject);
    });
  }

  request(command: string, body: object = {}): Promise<Record<string, unknown>> {
    return this.connection.request(command, body);
  }

  /** Sends a request that must be refused, and returns the wire error it got. */
  async requestError(command: string, body: object = {}): Promise<HychatError> {
    try {
      const reply = await this.connection.request(command, body);
      throw new Error(`${command} succeeded but was expected to fail: ${JSON.stringify(reply)}`);
    } catch (error) {
      if (error instanceof HychatError) return error;
      throw error;
    }
  }

  /** Takes the oldest received event named `name` (and matching `matches`), waiting for it if needed. */
  nextEvent(
    name: string,
    matches: (body: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<EventFrame> {
    const index = this.events.findIndex((frame) => frame.event === name && matches(frame.body));
    if (index !== -1) {
      const [frame] = this.events.splice(index, 1);
      return Promise.resolve(frame as EventFrame);
    }
    if (this.connection.closed) return Promise.reject(new Error(`connection closed before ${name} event`));
    return new Promise((resolve, reject) => {
      const waiter: EventWaiter = {
        name,
        matches,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`no ${name} event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Ends the connection and waits until it has closed. */
  async close(): Promise<void> {
    this.connection.close();
    await this.closed;
  }

  private deliver(frame: EventFrame): void {
    for (const waiter of this.waiters) {
      if (waiter.name === frame.event && waiter.matches(frame.body)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(frame);
        return;
      }
    }
    this.events.push(frame);
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }
}
