/**
 * A hosting peer's TLS port and its `PortMapper`, to run inside a network namespace:
 *
 *   node --import tsx test/helpers/port-mapper-process.ts LISTEN-HOST TIMEOUT-MS LIFETIME-SECONDS
 *
 * The server greets each connection with `hello`. Prints JSON lines on stdout: `listening` (port),
 * `started` (address, or null), `changed` (address, or null), and `stopped` after a `stop` line
 * on stdin, then ends once nothing is left open. The mapper's debug log goes to stderr.
 */
import { createInterface } from "node:readline";
import { createServer } from "node:tls";
import { type MappedAddress, PortMapper } from "../../src/host/port-mapping.js";
import { createLogger } from "../../src/util/logger.js";
import { testTlsIdentity } from "./tls.js";

const [listenHost = "", timeoutMs = "", lifetimeSeconds = ""] = process.argv.slice(2);

function print(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

const identity = await testTlsIdentity();
const server = createServer({ key: identity.key, cert: identity.cert }, (socket) => {
  socket.on("error", () => undefined);
  socket.end("hello\n");
});
const port = await new Promise<number>((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, listenHost, () => {
    const address = server.address();
    if (address === null || typeof address === "string") reject(new Error("no TCP address"));
    else resolve(address.port);
  });
});
print("listening", { port });

const mapper = new PortMapper({
  internalHost: listenHost,
  internalPort: port,
  logger: createLogger({ level: "debug", name: "port-mapper" }),
  timeoutMs: Number(timeoutMs),
  lifetimeSeconds: Number(lifetimeSeconds),
  onChange: (address: MappedAddress | undefined) => print("changed", { address: address ?? null }),
});
const startedAt = performance.now();
const address = await mapper.start();
print("started", { address: address ?? null, elapsedMs: Math.round(performance.now() - startedAt) });

const input = createInterface({ input: process.stdin });
input.on("line", async (line) => {
  if (line.trim() !== "stop") return;
  const stoppingAt = performance.now();
  await mapper.stop();
  print("stopped", {
    current: mapper.current ?? null,
    elapsedMs: Math.round(performance.now() - stoppingAt),
  });
  // No exit call: the process ends by itself only if the mapper left no socket or timer behind.
  input.close();
  process.stdin.destroy();
  server.close();
});
