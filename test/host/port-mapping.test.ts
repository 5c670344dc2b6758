import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PortMapper, parseDefaultRoute } from "../../src/host/port-mapping.js";
import { silentLogger } from "../../src/util/logger.js";
import {
  createNatTopology,
  type NatTopology,
  type NetnsProcess,
  NetnsUnavailable,
} from "../helpers/netns.js";

const FAKE_NAT_PMP = fileURLToPath(new URL("../helpers/fake-nat-pmp.ts", import.meta.url));
const MAPPER_PROCESS = fileURLToPath(new URL("../helpers/port-mapper-process.ts", import.meta.url));

/** A TLS client: prints `greeted LINE` with the server's first line, `error CODE` or `timeout`. */
const CLIENT = `
const tls = require("node:tls");
const [host, port, timeoutMs] = process.argv.slice(1);
setTimeout(() => { console.log("timeout"); process.exit(0); }, Number(timeoutMs));
const socket = tls.connect({ host, port: Number(port), rejectUnauthorized: false });
let data = "";
socket.setEncoding("utf8");
socket.on("data", (chunk) => {
  data += chunk;
  if (data.includes("\\n")) { console.log("greeted " + data.split("\\n")[0]); process.exit(0); }
});
socket.on("error", (error) => { console.log("error " + error.code); process.exit(0); });
`;

/** How long a connection that must not get through is given (a dropped SYN only ever times out). */
const BLOCKED_MS = 1_500;
/** How long one that must get through is given. */
const OPEN_MS = 15_000;
/** What a mapper gets to find a gateway in these tests. */
const MAPPER_TIMEOUT_MS = 3_000;

interface MapperEvent {
  event: string;
  address?: { host: string; port: number } | null;
  elapsedMs?: number;
  current?: unknown;
}

interface GatewayEvent {
  event: string;
  client?: string;
  internalPort?: number;
  externalPort?: number;
  renewal?: boolean;
}

async function nextEvent<T>(process: NetnsProcess, event: string, from = 0): Promise<T & { line: number }> {
  const [line] = await process.waitForLine(new RegExp(`^\\{"event":"${event}".*$`), { from });
  return { ...(JSON.parse(line) as T), line: process.stdoutLines.indexOf(line, from) };
}

async function connect(nat: NatTopology, host: string, port: number, timeoutMs: number): Promise<string> {
  const client = nat.run("out", process.execPath, ["-e", CLIENT, host, String(port), String(timeoutMs)]);
  const [, outcome] = await client.waitForLine(/^(greeted .*|timeout|error \S+)$/, {
    deadlineMs: timeoutMs + OPEN_MS,
  });
  return outcome as string;
}

function startGateway(nat: NatTopology): NetnsProcess {
  const { routerHome, routerOutside } = nat.addresses;
  return nat.run("router", process.execPath, [
    "--import",
    "tsx",
    FAKE_NAT_PMP,
    routerHome,
    routerOutside,
    nat.devices.routerOutside,
  ]);
}

function startMapper(nat: NatTopology, listenHost: string, lifetimeSeconds: number): NetnsProcess {
  return nat.run("home", process.execPath, [
    "--import",
    "tsx",
    MAPPER_PROCESS,
    listenHost,
    String(MAPPER_TIMEOUT_MS),
    String(lifetimeSeconds),
  ]);
}

/** The router's NAT and FORWARD rules, as `iptables -S` prints them. */
async function routerRules(nat: NatTopology): Promise<string> {
  const prerouting = await nat.exec("router", "iptables", ["-w", "5", "-t", "nat", "-S", "PREROUTING"]);
  const forward = await nat.exec("router", "iptables", ["-w", "5", "-S", "FORWARD"]);
  return prerouting + forward;
}

describe("parseDefaultRoute", () => {
  const HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";

  test("reads the default gateway, in this machine's byte order", () => {
    const table = [HEADER, "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0"]
      .concat("eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0")
      .join("\n");
    assert.deepEqual(parseDefaultRoute(table, "LE"), { gateway: "10.0.2.1", iface: "eth0" });
    assert.deepEqual(parseDefaultRoute(table, "BE"), { gateway: "1.2.0.10", iface: "eth0" });
  });

  test("picks the lowest metric and skips routes that are down or have no gateway", () => {
    const table = [
      HEADER,
      "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
      "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
      "tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0",
      "eth1\t00000000\t0102A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0",
    ].join("\n");
    assert.deepEqual(parseDefaultRoute(table, "LE"), { gateway: "192.168.0.1", iface: "eth0" });
  });

  test("no default route, or no table at all", () => {
    assert.equal(
      parseDefaultRoute(`${HEADER}\neth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0`),
      undefined,
    );
    assert.equal(parseDefaultRoute(""), undefined);
  });
});

test("a loopback listen address is not mapped, and start asks no gateway", async () => {
  for (const host of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "localhost"]) {
    const mapper = new PortMapper({
      internalHost: host,
      internalPort: 4000,
      logger: silentLogger,
      timeoutMs: 60_000,
    });
    const startedAt = performance.now();
    assert.equal(await mapper.start(), undefined);
    // Well under the timeout: nothing was waited for.
    assert.ok(performance.now() - startedAt < 1_000, host);
    assert.equal(mapper.current, undefined);
    await mapper.stop();
  }
});

describe("port mapping behind a NAT router (netns)", () => {
  let nat: NatTopology | undefined;
  let unavailable = "";
  before(async () => {
    try {
      nat = await createNatTopology();
    } catch (error) {
      if (!(error instanceof NetnsUnavailable)) throw error;
      unavailable = `network namespaces unavailable: ${error.message}`;
    }
  });
  after(() => nat?.destroy());

  function ready(t: TestContext): NatTopology | undefined {
    if (nat === undefined) t.skip(unavailable);
    return nat;
  }

  test("netns - with no gateway answering, start resolves undefined within the timeout", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const mapper = startMapper(topo, topo.addresses.home, 3_600);
    t.after(() => mapper.stop());
    const started = await nextEvent<MapperEvent>(mapper, "started");
    assert.equal(started.address, null, mapper.describe());
    assert.ok((started.elapsedMs ?? Infinity) < MAPPER_TIMEOUT_MS + 1_000, mapper.describe());
    mapper.send("stop");
    await nextEvent<MapperEvent>(mapper, "stopped");
    assert.deepEqual(await mapper.waitForExit(), { code: 0, signal: null }, mapper.describe());
  });

  test("netns - NAT-PMP maps the port: reachable from outside until stop removes the rule", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const { home, routerOutside } = topo.addresses;
    const gateway = startGateway(topo);
    t.after(() => gateway.stop());
    await nextEvent<GatewayEvent>(gateway, "listening");

    // A wildcard listen address: the mapping is for the address on the default route's side.
    const mapper = startMapper(topo, "0.0.0.0", 3_600);
    t.after(() => mapper.stop());
    const { port } = await nextEvent<{ port: number }>(mapper, "listening");
    const started = await nextEvent<MapperEvent>(mapper, "started");
    assert.deepEqual(started.address, { host: routerOutside, port }, mapper.describe());
    const mapped = await nextEvent<GatewayEvent>(gateway, "map");
    assert.equal(mapped.client, home);
    assert.equal(mapped.internalPort, port);
    assert.match(
      await routerRules(topo),
      new RegExp(`--dport ${port} -j DNAT --to-destination ${home}:${port}`),
    );

    assert.equal(await connect(topo, routerOutside, port, OPEN_MS), "greeted hello");

    mapper.send("stop");
    const stopped = await nextEvent<MapperEvent>(mapper, "stopped");
    assert.equal(stopped.current, null);
    assert.ok((stopped.elapsedMs ?? Infinity) < MAPPER_TIMEOUT_MS, mapper.describe());
    const unmapped = await nextEvent<GatewayEvent>(gateway, "unmap");
    assert.equal(unmapped.externalPort, port);
    const rules = await routerRules(topo);
    assert.doesNotMatch(rules, new RegExp(`--dport ${port}\\b`), rules);
    assert.notEqual(await connect(topo, routerOutside, port, BLOCKED_MS), "greeted hello");
    // It exits by itself: the mapper closed every socket and timer it had.
    assert.deepEqual(await mapper.waitForExit(), { code: 0, signal: null }, mapper.describe());
  });

  test("netns - renewals keep the mapping past its lifetime", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const gateway = startGateway(topo);
    t.after(() => gateway.stop());
    await nextEvent<GatewayEvent>(gateway, "listening");

    // A 2 s lifetime, renewed every second; the fake gateway drops a mapping not renewed in time.
    const mapper = startMapper(topo, topo.addresses.home, 2);
    t.after(() => mapper.stop());
    const started = await nextEvent<MapperEvent>(mapper, "started");
    assert.ok(started.address, mapper.describe());
    const first = await nextEvent<GatewayEvent>(gateway, "map");
    assert.equal(first.renewal, false);
    let from = first.line + 1;
    for (let renewal = 0; renewal < 3; renewal += 1) {
      const renewed = await nextEvent<GatewayEvent>(gateway, "map", from);
      assert.equal(renewed.renewal, true, gateway.describe());
      assert.equal(renewed.externalPort, first.externalPort);
      from = renewed.line + 1;
    }
    assert.ok(!gateway.stdoutLines.some((line) => line.includes('"expired"')), gateway.describe());
    assert.equal(await connect(topo, started.address.host, started.address.port, OPEN_MS), "greeted hello");
    assert.ok(!mapper.stdoutLines.some((line) => line.includes('"changed"')), mapper.describe());

    mapper.send("stop");
    await nextEvent<MapperEvent>(mapper, "stopped");
    await nextEvent<GatewayEvent>(gateway, "unmap");
    assert.deepEqual(await mapper.waitForExit(), { code: 0, signal: null }, mapper.describe());
  });

  test("netns - a gateway that stops answering: the lost mapping is reported, quietly", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const gateway = startGateway(topo);
    t.after(() => gateway.stop());
    await nextEvent<GatewayEvent>(gateway, "listening");
    const mapper = startMapper(topo, topo.addresses.home, 2);
    t.after(() => mapper.stop());
    const started = await nextEvent<MapperEvent>(mapper, "started");
    assert.ok(started.address, mapper.describe());

    await gateway.stop();
    // The renewal times out, so does the search for another gateway: each MAPPER_TIMEOUT_MS.
    const changed = await mapper.waitForLine(/^\{"event":"changed".*$/, {
      deadlineMs: 4 * MAPPER_TIMEOUT_MS + 10_000,
    });
    assert.deepEqual(JSON.parse(changed[0]), { event: "changed", address: null });
    assert.ok(!mapper.stderrLines.some((line) => /"level":[5-6]0/.test(line)), mapper.describe());

    mapper.send("stop");
    await nextEvent<MapperEvent>(mapper, "stopped");
    assert.deepEqual(await mapper.waitForExit(), { code: 0, signal: null }, mapper.describe());
  });
});
