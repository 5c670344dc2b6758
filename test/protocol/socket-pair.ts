import { once } from "node:events";
import { createServer, createConnection as dial, type Socket } from "node:net";

/**
 * A connected 127.0.0.1 TCP pair: the dialing side and the accepted side. The listening server
 * is closed as soon as it has accepted; the caller destroys both sockets when done.
 */
export async function socketPair(): Promise<{ client: Socket; served: Socket }> {
  const server = createServer();
  try {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    const accepted = once(server, "connection") as Promise<[Socket]>;
    const client = dial(address.port, "127.0.0.1");
    await once(client, "connect");
    const [served] = await accepted;
    return { client, served };
  } finally {
    server.close();
  }
}

/** Resolves once `predicate` holds (checked every few ms), or fails after a deadline. */
export async function until(predicate: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
