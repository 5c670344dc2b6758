import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, type TestContext, test } from "node:test";
import {
  createNatTopology,
  type NatTopology,
  type NetnsProcess,
  NetnsUnavailable,
  type Role,
} from "../helpers/netns.js";

/** A line server: prints its port, each peer's address and each line it reads, and echoes the lines back. */
const SERVER = `
const net = require("node:net");
const readline = require("node:readline");
const server = net.createServer((socket) => {
  console.log("peer " + socket.remoteAddress);
  socket.on("error", () => {});
  readline.createInterface({ input: socket }).on("line", (line) => {
    console.log("data " + line);
    socket.write(line + "\\n");
  });
});
server.listen(0, process.argv[1], () => console.log("listening " + server.address().port));
`;

/** A line client: prints how connecting went, sends its stdin lines, prints what comes back. */
const CLIENT = `
const net = require("node:net");
const readline = require("node:readline");
const [host, port, timeoutMs] = process.argv.slice(1);
const timer = setTimeout(() => { console.log("timeout"); process.exit(0); }, Number(timeoutMs));
const socket = net.connect(Number(port), host, () => {
  clearTimeout(timer);
  console.log("connected");
  readline.createInterface({ input: process.stdin })
    .on("line", (line) => socket.write(line + "\\n"))
    .on("close", () => socket.end());
});
socket.on("error", (error) => { console.log("error " + error.code); process.exit(0); });
readline.createInterface({ input: socket }).on("line", (line) => console.log("echo " + line));
socket.on("close", () => process.exit(0));
`;

/** How long a connection that must not get through is given: a dropped SYN only ever times out. */
const BLOCKED_MS = 1_500;
/** How long one that must get through is given. */
const OPEN_MS = 15_000;

async function listen(
  nat: NatTopology,
  ns: Role,
  host: string,
): Promise<{ server: NetnsProcess; port: number }> {
  const server = nat.run(ns, process.execPath, ["-e", SERVER, host]);
  const [, port] = await server.waitForLine(/^listening (\d+)$/);
  return { server, port: Number(port) };
}

/** Starts a client and resolves once it reports "connected", "timeout" or "error CODE". */
async function connect(
  nat: NatTopology,
  ns: Role,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ client: NetnsProcess; outcome: string }> {
  const client = nat.run(ns, process.execPath, ["-e", CLIENT, host, String(port), String(timeoutMs)]);
  const [, outcome] = await client.waitForLine(/^(connected|timeout|error \S+)$/, {
    deadlineMs: timeoutMs + OPEN_MS,
  });
  return { client, outcome: outcome as string };
}

/** Sends a line over a connected client and waits for its echo. */
async function roundTrip(client: NetnsProcess, line: string): Promise<void> {
  client.send(line);
  await client.waitForLine(new RegExp(`^echo ${line}$`));
}

function namespaceList(): string {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 10_000 });
}

describe("netns NAT harness", () => {
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

  /** The topology, or undefined after marking the test skipped. */
  function ready(t: TestContext): NatTopology | undefined {
    if (nat === undefined) t.skip(unavailable);
    return nat;
  }

  test("netns - home reaches out through the router and is seen as the router's outside address", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const { server, port } = await listen(topo, "out", topo.addresses.out);
    const { client, outcome } = await connect(topo, "home", topo.addresses.out, port, OPEN_MS);
    assert.equal(outcome, "connected");
    await roundTrip(client, "hello");
    await server.waitForLine(/^data hello$/);
    assert.ok(server.stdoutLines.includes(`peer ${topo.addresses.routerOutside}`), server.describe());
    assert.ok(!server.stdoutLines.includes(`peer ${topo.addresses.home}`), server.describe());
  });

  test("netns - nothing is forwarded inward to home, even over a route to its subnet", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const { server, port } = await listen(topo, "home", "0.0.0.0");
    const atRouter = await connect(topo, "out", topo.addresses.routerOutside, port, BLOCKED_MS);
    assert.notEqual(atRouter.outcome, "connected");
    // The internet does not route private addresses; a route here proves the router's FORWARD rules.
    const homeNet = `${topo.addresses.routerHome.replace(/\.1$/, ".0")}/24`;
    await topo.exec("out", "ip", ["route", "add", homeNet, "via", topo.addresses.routerOutside]);
    try {
      const direct = await connect(topo, "out", topo.addresses.home, port, BLOCKED_MS);
      assert.equal(direct.outcome, "timeout");
    } finally {
      await topo.exec("out", "ip", ["route", "del", homeNet]);
    }
    assert.ok(!server.stdoutLines.some((line) => line.startsWith("peer ")), server.describe());
  });

  test("netns - a capture holds the bytes sent in plaintext", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const marker = `marker-${randomBytes(8).toString("hex")}`;
    const { port } = await listen(topo, "out", topo.addresses.out);
    const capture = await topo.capture("out");
    const { client, outcome } = await connect(topo, "home", topo.addresses.out, port, OPEN_MS);
    assert.equal(outcome, "connected");
    await roundTrip(client, marker);
    client.endInput();
    await client.waitForExit();
    const pcap = await capture.stop();
    assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4, "a pcap file");
    assert.ok(pcap.includes(marker), "the marker is in the capture");
  });

  test("netns - a dropped link blocks new connections and an established one resumes on restore", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const { server, port } = await listen(topo, "out", topo.addresses.out);
    const { client } = await connect(topo, "home", topo.addresses.out, port, OPEN_MS);
    await roundTrip(client, "before");
    await topo.cutLink();
    try {
      const during = await connect(topo, "home", topo.addresses.out, port, BLOCKED_MS);
      assert.equal(during.outcome, "timeout");
      client.send("during");
    } finally {
      await topo.restoreLink();
    }
    // TCP retransmits what was sent while cut; the NAT mapping survived, so it arrives.
    await server.waitForLine(/^data during$/);
    await client.waitForLine(/^echo during$/);
    const afterwards = await connect(topo, "home", topo.addresses.out, port, OPEN_MS);
    assert.equal(afterwards.outcome, "connected");
  });

  test("netns - a link set down makes the internet unreachable until restored", async (t) => {
    const topo = ready(t);
    if (topo === undefined) return;
    const { port } = await listen(topo, "out", topo.addresses.out);
    await topo.cutLink("down");
    try {
      const during = await connect(topo, "home", topo.addresses.out, port, BLOCKED_MS);
      assert.match(during.outcome, /^error E(NET|HOST)UNREACH$/);
    } finally {
      await topo.restoreLink();
    }
    const afterwards = await connect(topo, "home", topo.addresses.out, port, OPEN_MS);
    assert.equal(afterwards.outcome, "connected");
  });

  test("netns - destroy kills the children and removes every namespace, and may be called again", async (t) => {
    if (ready(t) === undefined) return;
    // A second topology beside the first: unique names, so the two coexist.
    const second = await createNatTopology();
    t.after(() => second.destroy());
    const { server } = await listen(second, "out", second.addresses.out);
    const names = Object.values(second.names);
    assert.ok(
      names.every((name) => namespaceList().includes(name)),
      namespaceList(),
    );
    await second.destroy();
    assert.equal(server.running, false);
    const left = namespaceList();
    for (const name of names) assert.ok(!left.includes(name), `${name} is still listed:\n${left}`);
    await second.destroy();
  });
});
