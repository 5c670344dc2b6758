import { connect } from "node:tls";
import type { ProofPurpose } from "../../src/auth/canonical.js";
import { proofBytes } from "../../src/auth/canonical.js";
import { DeviceKey } from "../../src/auth/device-key.js";
import { signMessage } from "../../src/auth/message-signature.js";
import { Connection, type ConnectionOptions } from "../../src/protocol/connection.js";
import { HychatError } from "../../src/protocol/errors.js";
import { type EventFrame, PROTOCOL_VERSION } from "../../src/protocol/frames.js";
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

/** The device key of every ticket a test got through a `TestClient` (or registered by hand). */
const ticketKeys = new Map<string, DeviceKey>();

/** The device key whose public half `ticket` certifies, when a test client got or registered it. */
export function keyOfTicket(ticket: string): DeviceKey | undefined {
  return ticketKeys.get(ticket);
}

/** Remembers that `key` holds `ticket`, for the proofs and signatures `TestClient` fills in. */
export function registerTicketKey(ticket: string, key: DeviceKey): void {
  ticketKeys.set(ticket, key);
}

/** The `sub` of a ticket's payload, without checking its signature; undefined when it is unreadable. */
export function ticketSubject(ticket: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(ticket.split(".")[0] ?? "", "base64url").toString("utf8")) as {
      sub?: unknown;
    };
    return typeof payload.sub === "string" ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

const DEVICE_ID_CHARACTERS = /[^A-Za-z0-9_-]/g;

/** The device id `SIGNIN` gets when a test names none: `test-device-<username lowercased>`, cut to fit. */
export function testDeviceId(username: unknown): string {
  return `test-device-${String(username).toLowerCase()}`.replace(DEVICE_ID_CHARACTERS, "_").slice(0, 64);
}

export interface TestRequestOptions {
  /** Sends the body exactly as given: no HELLO, proof, key, device or signature is filled in. */
  raw?: boolean;
  /** The device key for a filled-in `SIGNIN`, `GUEST`, `RESUME` or `CONNECT` (default: a fresh
   * one for `SIGNIN`/`GUEST`, the ticket's registered one for `RESUME`/`CONNECT`). */
  key?: DeviceKey;
  timeoutMs?: number;
}

/** Who signs the messages sent for a channel: the ticket and key of the `CONNECT` to it. */
interface ChannelSigner {
  ticket: string;
  key: DeviceKey;
  from: string;
}

type Body = Record<string, unknown>;

/**
 * A test's side of one TLS connection to a tracker or host (any certificate accepted): requests through a real `Connection`,
 * and every pushed event kept until a test takes it.
 *
 * Unless a request is sent `{ raw: true }`, it fills in what the protocol requires and the body
 * lacks, so tests can send the short bodies they mean: the `HELLO` (once per connection, for its
 * challenge), `SIGNIN`'s `device`, `publicKey` and `proof`, `GUEST`'s `publicKey` and `proof`,
 * the `proof` of `RESUME` and `CONNECT` (with the ticket's registered key), and the `sentAt`,
 * `sig` and `cert` of each message in `MESSAGE` and `CACHE` (signed with the key and ticket of
 * the `CONNECT` to that channel). Tickets in `SIGNIN`, `GUEST` and `RESUME` answers are
 * registered with the key that proved them (`keyOfTicket`).
 */
export class TestClient {
  readonly connection: Connection;
  /** Events received and not yet taken by `nextEvent`, oldest first. */
  readonly events: EventFrame[] = [];
  /** Resolves once the connection has closed, from either side. */
  readonly closed: Promise<void>;
  /** The fingerprint of the certificate the server presented. */
  serverFingerprint = "";
  /** The challenge of the last `HELLO` answered on this connection. */
  helloChallenge: string | undefined;
  private hello: Promise<string> | undefined;
  private readonly signers = new Map<string, ChannelSigner>();
  private lastSigner: ChannelSigner | undefined;
  private readonly waiters = new Set<EventWaiter>();

  private constructor(connection: Connection, closed: Promise<void>) {
    this.connection = connection;
    this.closed = closed;
  }

  /**
   * Opens a connection; resolves once it is established. `localAddress` (say `127.0.0.2`) makes
   * it come from another address, for per-address limits.
   */
  static connect(
    address: NetAddress,
    options: ConnectionOptions = {},
    localAddress?: string,
  ): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        port: address.port,
        host: address.host,
        rejectUnauthorized: false,
        ...(localAddress === undefined ? {} : { localAddress }),
      });
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

  /** Sends a request, filling in what the body lacks unless `options.raw` (see the class comment). */
  async request(command: string, body: object = {}, options: TestRequestOptions = {}): Promise<Body> {
    const requestOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    if (options.raw === true) return this.send(command, body, requestOptions);
    const filled = await this.fill(command, body as Body, options);
    const reply = await this.send(command, filled.body, requestOptions);
    if (filled.key !== undefined && typeof reply.ticket === "string")
      registerTicketKey(reply.ticket, filled.key);
    if (filled.signer !== undefined) {
      this.signers.set(String(filled.body.channel).toLowerCase(), filled.signer);
      this.lastSigner = filled.signer;
    }
    return reply;
  }

  /** Sends a request that must be refused, and returns the wire error it got. */
  async requestError(
    command: string,
    body: object = {},
    options: TestRequestOptions = {},
  ): Promise<HychatError> {
    try {
      const reply = await this.request(command, body, options);
      throw new Error(`${command} succeeded but was expected to fail: ${JSON.stringify(reply)}`);
    } catch (error) {
      if (error instanceof HychatError) return error;
      throw error;
    }
  }

  /** This connection's `HELLO` challenge, sending `HELLO` first when none was answered yet. */
  challenge(): Promise<string> {
    if (this.helloChallenge !== undefined) return Promise.resolve(this.helloChallenge);
    this.hello ??= this.send("HELLO", { version: PROTOCOL_VERSION }, {}).then((reply) => {
      if (typeof reply.challenge !== "string")
        throw new Error(`HELLO answered no challenge: ${JSON.stringify(reply)}`);
      return reply.challenge;
    });
    const hello = this.hello;
    // A failed HELLO is not kept: the next request tries again.
    hello.catch(() => {
      if (this.hello === hello) this.hello = undefined;
    });
    return hello;
  }

  /** `key`'s proof of possession for `purpose` on this connection, to this server (and `channel`). */
  async proof(key: DeviceKey, purpose: ProofPurpose, channel?: string): Promise<string> {
    const challenge = await this.challenge();
    return key.sign(
      proofBytes({
        purpose,
        fingerprint: this.serverFingerprint,
        challenge,
        ...(channel === undefined ? {} : { channel }),
      }),
    );
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

  private async send(command: string, body: object, options: { timeoutMs?: number }): Promise<Body> {
    const reply = await this.connection.request(command, body, options);
    if (command === "HELLO" && typeof reply.challenge === "string") this.helloChallenge = reply.challenge;
    return reply;
  }

  /** The body with what it lacks filled in, the key to register the answer's ticket with, and for CONNECT the signer. */
  private async fill(
    command: string,
    body: Body,
    options: TestRequestOptions,
  ): Promise<{ body: Body; key?: DeviceKey; signer?: ChannelSigner }> {
    switch (command) {
      case "SIGNIN": {
        if (body.proof !== undefined) return { body };
        const key = options.key ?? DeviceKey.generate();
        return {
          key,
          body: {
            ...body,
            device: body.device ?? testDeviceId(body.username),
            publicKey: body.publicKey ?? key.publicKey,
            proof: await this.proof(key, "SIGNIN"),
          },
        };
      }
      case "GUEST": {
        if (body.proof !== undefined) return { body };
        const key = options.key ?? DeviceKey.generate();
        return {
          key,
          body: {
            ...body,
            publicKey: body.publicKey ?? key.publicKey,
            proof: await this.proof(key, "GUEST"),
          },
        };
      }
      case "RESUME": {
        if (body.proof !== undefined || typeof body.ticket !== "string") return { body };
        // A ticket no test client holds gets a throwaway key's proof: the tracker judges the ticket first.
        const key = options.key ?? keyOfTicket(body.ticket) ?? DeviceKey.generate();
        return { key, body: { ...body, proof: await this.proof(key, "RESUME") } };
      }
      case "CONNECT": {
        if (body.proof !== undefined || typeof body.ticket !== "string" || typeof body.channel !== "string") {
          return { body };
        }
        const key = options.key ?? keyOfTicket(body.ticket) ?? DeviceKey.generate();
        const signer = { ticket: body.ticket, key, from: ticketSubject(body.ticket) ?? "" };
        return { signer, body: { ...body, proof: await this.proof(key, "CONNECT", body.channel) } };
      }
      case "MESSAGE":
        return { body: this.signed(body, body.channel) };
      case "CACHE":
        if (!Array.isArray(body.messages)) return { body };
        return {
          body: {
            ...body,
            messages: body.messages.map((message: unknown) =>
              typeof message === "object" && message !== null && !Array.isArray(message)
                ? this.signed(message as Body, body.channel)
                : message,
            ),
          },
        };
      default:
        return { body };
    }
  }

  /**
   * A message with `sentAt`, `sig` and `cert` where it lacks them (each on its own), signed with
   * the key of the `CONNECT` to `channel` (the last `CONNECT` when there was none to it; a
   * throwaway key when this connection sent no `CONNECT`, so a test of the refusal gets the
   * refusal it expects).
   */
  private signed(message: Body, channel: unknown): Body {
    if (message.sig !== undefined && message.sentAt != null && message.cert !== undefined) return message;
    const sentAt = message.sentAt ?? new Date().toISOString();
    const signer = (typeof channel === "string" ? this.signers.get(channel.toLowerCase()) : undefined) ??
      this.lastSigner ?? { ticket: "unsigned.unsigned", key: DeviceKey.generate(), from: "" };
    const sig =
      message.sig ??
      signMessage(signer.key, {
        channel: String(channel),
        from: signer.from,
        msgId: String(message.msgId),
        sentAt: String(sentAt),
        text: String(message.text),
      });
    return { ...message, sentAt, sig, cert: message.cert ?? signer.ticket };
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
