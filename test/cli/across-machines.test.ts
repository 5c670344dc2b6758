import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CliProcess } from "./cli-process.js";

/**
 * The README's "Across machines" walk-through, pasted as a person would, with each "machine" a
 * Linux network namespace of its own on one virtual LAN: the tracker on 10.231.0.1, ana hosting
 * on 10.231.0.2, bo on 10.231.0.3. Needs root and `ip` (CI has both); skipped otherwise.
 */
const NAMESPACES = { lan: "hychat-lan", tracker: "hychat-m1", ana: "hychat-m2", bo: "hychat-m3" } as const;
const ADDRESSES = { tracker: "10.231.0.1", ana: "10.231.0.2", bo: "10.231.0.3" } as const;

function ip(...args: string[]): { ok: boolean; stderr: string } {
  const result = spawnSync("ip", args, { encoding: "utf8" });
  return { ok: result.status === 0, stderr: result.stderr ?? String(result.error ?? "") };
}

function removeNamespaces(): void {
  for (const name of Object.values(NAMESPACES)) ip("netns", "delete", name);
}

/** Builds the LAN; returns why it could not, or undefined. */
function buildLan(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to create network namespaces";
  if (!ip("-V").ok) return "needs the ip command (Debian: iproute2)";
  removeNamespaces();
  const steps: string[][] = [
    ["netns", "add", NAMESPACES.lan],
    ["-n", NAMESPACES.lan, "link", "add", "br0", "type", "bridge"],
    ["-n", NAMESPACES.lan, "link", "set", "br0", "up"],
  ];
  for (const machine of ["tracker", "ana", "bo"] as const) {
    const ns = NAMESPACES[machine];
    steps.push(
      ["netns", "add", ns],
      ["-n", ns, "link", "set", "lo", "up"],
      [
        "-n",
        ns,
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        `to-${machine}`,
        "netns",
        NAMESPACES.lan,
      ],
      ["-n", ns, "addr", "add", `${ADDRESSES[machine]}/24`, "dev", "eth0"],
      ["-n", ns, "link", "set", "eth0", "up"],
      ["-n", NAMESPACES.lan, "link", "set", `to-${machine}`, "master", "br0"],
      ["-n", NAMESPACES.lan, "link", "set", `to-${machine}`, "up"],
    );
  }
  for (const step of steps) {
    const result = ip(...step);
    if (!result.ok) return `ip ${step.join(" ")} failed: ${result.stderr.trim()}`;
  }
  return undefined;
}

describe("across machines (network namespaces)", () => {
  const skip = buildLan();
  const home = mkdtempSync(join(tmpdir(), "hychat-machines-"));
  const running: CliProcess[] = [];
  before(() => {
    if (skip !== undefined) process.stderr.write(`across-machines test skipped: ${skip}\n`);
  });
  after(async () => {
    await Promise.all(running.map((child) => child.kill()));
    removeNamespaces();
    rmSync(home, { recursive: true, force: true });
  });

  function start(machine: keyof typeof ADDRESSES, args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
    const child = new CliProcess(
      args,
      { HYCHAT_HOME: join(home, machine), ...env },
      { netns: NAMESPACES[machine] },
    );
    running.push(child);
    return child;
  }

  test("machines - the README walk-through: a pinned tracker, a host on another machine, a member on a third", {
    skip,
  }, async () => {
    const tracker = start("tracker", ["tracker", "--host", "0.0.0.0", "--password-cost", "10"]);
    await tracker.waitForLine(/^listening on 0\.0\.0\.0:22236$/);
    const [, fingerprint] = (await tracker.waitForLine(
      /^tls fingerprint (sha256:[0-9a-f]{64})$/,
    )) as unknown as [string, string];
    const trackerAddress = `${ADDRESSES.tracker}:22236`;
    const ana = start(
      "ana",
      [
        "peer",
        "--tracker",
        trackerAddress,
        "--tracker-fingerprint",
        fingerprint,
        "--username",
        "ana",
        "--password-env",
        "ANA_PW",
        "--signup",
        "--channel-name",
        "lobby",
        "--peer-host-ip",
        "0.0.0.0",
        "--peer-host-port",
        "22300",
      ],
      { ANA_PW: "ana-password" },
    );
    // The tracker lists the address it saw ana come from, and that is what she is told.
    await ana.waitForLine(/^hosting lobby on 10\.231\.0\.2:22300$/);
    const bo = start(
      "bo",
      [
        "peer",
        "--tracker",
        trackerAddress,
        "--tracker-fingerprint",
        fingerprint,
        "--username",
        "bo",
        "--password-env",
        "BO_PW",
        "--signup",
      ],
      { BO_PW: "bo-password" },
    );
    await bo.waitForLine(/signed in as bo/);
    bo.send("/join lobby");
    await bo.waitForLine(/joined lobby/);
    bo.send("hello from another machine");
    await ana.waitForLine(/\[lobby\] .*bo: hello from another machine/);

    // A peer that does not pin trusts the tracker on first use, and says so.
    const guest = start("bo", [
      "peer",
      "--tracker",
      trackerAddress,
      "--guest",
      "watcher",
      "--data-dir",
      join(home, "guest"),
    ]);
    await guest.waitForLine(
      new RegExp(
        `trusting the tracker at ${trackerAddress.replaceAll(".", "\\.")} on first use: ${fingerprint}`,
      ),
    );
    bo.endInput();
    assert.equal((await bo.waitForExit()).code, 0);
  });
});
