import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, connect as tlsConnect } from "node:tls";
import type { TlsIdentity } from "../../src/transport/tls-identity.js";
import type { NetAddress } from "./client.js";

/** Stops a listening server and every socket it accepted. */
async function closeServer(server: Server | TlsServer, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  await closed;
}

function listen(server: Server | TlsServer, port = 0): Promise<NetAddress> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({ host: "127.0.0.1", port: (server.address() as AddressInfo).port });
    });
  });
}

/**
 * Forwards `client` and `upstream` to each other, keeping a copy of what the client sends (and,
 * with `both`, of what comes back); an error on either side ends both.
 */
function relay(
  client: Socket,
  upstream: Socket,
  sockets: Set<Socket>,
  keep: (chunk: Buffer) => void,
  both: boolean,
): void {
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.on("data", (chunk: Buffer) => {
    keep(Buffer.from(chunk));
    upstream.write(chunk);
  });
  upstream.on("data", (chunk: Buffer) => {
    if (both) keep(Buffer.from(chunk));
    client.write(chunk);
  });
  client.on("end", () => upstream.end());
  upstream.on("end", () => client.end());
}

/**
 * A TCP relay on the path, as a router or an ISP would be: it forwards every byte both ways and
 * keeps a copy of all of them, for a test to look for anything readable.
 */
export class RecordingProxy {
  readonly chunks: Buffer[] = [];
  address: NetAddress = { host: "127.0.0.1", port: 0 };
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(target: NetAddress) {
    this.server = createServer((client) => {
      const upstream = tcpConnect(target.port, target.host);
      relay(client, upstream, this.sockets, (chunk) => this.chunks.push(chunk), true);
    });
  }

  async listen(): Promise<NetAddress> {
    this.address = await listen(this.server);
    return this.address;
  }

  /** Every byte that crossed the proxy, both directions. */
  recorded(): Buffer {
    return Buffer.concat(this.chunks);
  }

  close(): Promise<void> {
    return closeServer(this.server, this.sockets);
  }
}

/**
 * A man in the middle: it ends the client's TLS with a certificate of its own and opens its own
 * TLS link to the real server, keeping whatever plaintext the client sends it.
 */
export class TlsInterceptor {
  readonly plaintext: Buffer[] = [];
  /** TCP connections that reached the interceptor. */
  connections = 0;
  private readonly connectionWaiters = new Set<{ count: number; resolve(): void }>();
  private readonly sockets = new Set<Socket>();
  private readonly server: TlsServer;
  address: NetAddress = { host: "127.0.0.1", port: 0 };

  constructor(identity: TlsIdentity, target: NetAddress) {
    this.server = createTlsServer({ key: identity.key, cert: identity.cert }, (client) => {
      const upstream = tlsConnect({ host: target.host, port: target.port, rejectUnauthorized: false });
      relay(client, upstream, this.sockets, (chunk) => this.plaintext.push(chunk), false);
    });
    this.server.on("connection", () => {
      this.connections += 1;
      for (const waiter of [...this.connectionWaiters]) {
        if (this.connections < waiter.count) continue;
        this.connectionWaiters.delete(waiter);
        waiter.resolve();
      }
    });
    this.server.on("tlsClientError", () => {});
  }

  /** Resolves once `count` connections have reached the interceptor; rejects after `deadlineMs`. */
  whenConnections(count: number, deadlineMs = 20_000): Promise<void> {
    if (this.connections >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.connectionWaiters.delete(waiter);
        reject(new Error(`only ${this.connections} of ${count} connections within ${deadlineMs} ms`));
      }, deadlineMs);
      this.connectionWaiters.add(waiter);
    });
  }

  async listen(port = 0): Promise<NetAddress> {
    this.address = await listen(this.server, port);
    return this.address;
  }

  close(): Promise<void> {
    return closeServer(this.server, this.sockets);
  }
}
