/**
 * A home router's NAT-PMP server (RFC 6886), TCP mappings only, for the router namespace of
 * `netns.ts`: each mapping is a real DNAT rule plus a FORWARD accept, removed on unmap or expiry.
 *
 *   node --import tsx test/helpers/fake-nat-pmp.ts LAN-ADDRESS EXTERNAL-ADDRESS WAN-IFACE
 *
 * Prints one JSON line per event on stdout: `listening`, `external`, `map` (also each renewal),
 * `unmap`, `expired`.
 */
import { execFile } from "node:child_process";
import { createSocket, type RemoteInfo } from "node:dgram";
import { promisify } from "node:util";

const SERVER_PORT = 5351;
const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP_TCP = 2;
const RESPONSE = 128;
const RESULT_SUCCESS = 0;
const RESULT_UNSUPPORTED_VERSION = 1;
const RESULT_OUT_OF_RESOURCES = 4;
const RESULT_UNSUPPORTED_OPCODE = 5;
/** Where external ports are taken from when the one asked for is held by another mapping. */
const FIRST_SPARE_PORT = 40_000;

interface PortMapping {
  client: string;
  internalPort: number;
  externalPort: number;
  expiry: NodeJS.Timeout | undefined;
}

const [lanAddress = "", externalAddress = "", wanIface = ""] = process.argv.slice(2);
if (wanIface === "") {
  process.stderr.write("usage: fake-nat-pmp.ts LAN-ADDRESS EXTERNAL-ADDRESS WAN-IFACE\n");
  process.exit(2);
}
const startedAt = Date.now();
const mappings = new Map<string, PortMapping>();
const execFileAsync = promisify(execFile);
/** Requests are handled one after another, as each waits for iptables before it is answered. */
let queue: Promise<void> = Promise.resolve();

function print(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function keyOf(client: string, internalPort: number): string {
  return `${client}:${internalPort}`;
}

async function iptables(action: "-A" | "-D", mapping: PortMapping): Promise<void> {
  const { client, internalPort, externalPort } = mapping;
  const dnat = ["-j", "DNAT", "--to-destination", `${client}:${internalPort}`];
  const accept = ["-d", client, "--dport", `${internalPort}`, "-j", "ACCEPT"];
  const rules = [
    ["-t", "nat", action, "PREROUTING", "-i", wanIface, "-p", "tcp", "--dport", `${externalPort}`, ...dnat],
    [action, "FORWARD", "-i", wanIface, "-p", "tcp", ...accept],
  ];
  for (const rule of rules) await execFileAsync("iptables", ["-w", "5", ...rule], { timeout: 10_000 });
}

function header(op: number, result: number, size: number): Buffer {
  const response = Buffer.alloc(size);
  response.writeUInt8(0, 0);
  response.writeUInt8(RESPONSE + op, 1);
  response.writeUInt16BE(result, 2);
  response.writeUInt32BE(Math.floor((Date.now() - startedAt) / 1000), 4);
  return response;
}

function mapResponse(result: number, internalPort: number, externalPort: number, lifetime: number): Buffer {
  const response = header(OP_MAP_TCP, result, 16);
  response.writeUInt16BE(internalPort, 8);
  response.writeUInt16BE(externalPort, 10);
  response.writeUInt32BE(lifetime, 12);
  return response;
}

function freeExternalPort(wanted: number): number | undefined {
  const taken = new Set([...mappings.values()].map((mapping) => mapping.externalPort));
  if (wanted !== 0 && !taken.has(wanted)) return wanted;
  for (let port = FIRST_SPARE_PORT; port < 65_536; port += 1) if (!taken.has(port)) return port;
  return undefined;
}

async function remove(mapping: PortMapping, event: "unmap" | "expired"): Promise<void> {
  clearTimeout(mapping.expiry);
  mappings.delete(keyOf(mapping.client, mapping.internalPort));
  await iptables("-D", mapping);
  print({
    event,
    client: mapping.client,
    internalPort: mapping.internalPort,
    externalPort: mapping.externalPort,
  });
}

function expireLater(mapping: PortMapping, lifetime: number): NodeJS.Timeout {
  return setTimeout(() => {
    queue = queue.then(() => remove(mapping, "expired")).catch(fail);
  }, lifetime * 1000);
}

async function handleMap(request: Buffer, client: string): Promise<Buffer> {
  const internalPort = request.readUInt16BE(4);
  const suggested = request.readUInt16BE(6);
  const lifetime = request.readUInt32BE(8);
  if (lifetime === 0) {
    // Lifetime 0 deletes the client's mapping of that internal port, or all of them for port 0.
    for (const mapping of [...mappings.values()]) {
      if (mapping.client === client && (internalPort === 0 || mapping.internalPort === internalPort)) {
        await remove(mapping, "unmap");
      }
    }
    return mapResponse(RESULT_SUCCESS, internalPort, 0, 0);
  }
  const existing = mappings.get(keyOf(client, internalPort));
  if (existing !== undefined) {
    // A renewal keeps the external port, whatever is suggested.
    clearTimeout(existing.expiry);
    existing.expiry = expireLater(existing, lifetime);
    print({
      event: "map",
      client,
      internalPort,
      externalPort: existing.externalPort,
      lifetime,
      renewal: true,
    });
    return mapResponse(RESULT_SUCCESS, internalPort, existing.externalPort, lifetime);
  }
  const externalPort = freeExternalPort(suggested);
  if (externalPort === undefined) return mapResponse(RESULT_OUT_OF_RESOURCES, internalPort, 0, 0);
  const mapping: PortMapping = { client, internalPort, externalPort, expiry: undefined };
  await iptables("-A", mapping);
  mapping.expiry = expireLater(mapping, lifetime);
  mappings.set(keyOf(client, internalPort), mapping);
  print({ event: "map", client, internalPort, externalPort, lifetime, renewal: false });
  return mapResponse(RESULT_SUCCESS, internalPort, externalPort, lifetime);
}

async function handle(request: Buffer, remote: RemoteInfo): Promise<Buffer | undefined> {
  if (request.length < 2) return undefined;
  const op = request.readUInt8(1);
  if (op >= RESPONSE) return undefined;
  if (request.readUInt8(0) !== 0) return header(op, RESULT_UNSUPPORTED_VERSION, 8);
  if (op === OP_EXTERNAL_ADDRESS) {
    const response = header(op, RESULT_SUCCESS, 12);
    Buffer.from(externalAddress.split(".").map(Number)).copy(response, 8);
    print({ event: "external", client: remote.address });
    return response;
  }
  if (op === OP_MAP_TCP && request.length >= 12) return handleMap(request, remote.address);
  return header(op, RESULT_UNSUPPORTED_OPCODE, 8);
}

function fail(error: unknown): void {
  process.stderr.write(`fake NAT-PMP: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
}

const socket = createSocket("udp4");
socket.on("message", (request, remote) => {
  queue = queue
    .then(async () => {
      const response = await handle(request, remote);
      if (response !== undefined) socket.send(response, remote.port, remote.address);
    })
    .catch(fail);
});
socket.on("error", fail);
socket.bind(SERVER_PORT, lanAddress, () =>
  print({ event: "listening", address: lanAddress, port: SERVER_PORT }),
);
