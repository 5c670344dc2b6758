import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ChannelListing } from "../../src/protocol/tracker-schemas.js";
import { certificateFileFingerprint, TLS_CERT_FILE, TLS_KEY_FILE } from "../../src/transport/tls-identity.js";
import { type NetAddress, TestClient } from "../helpers/client.js";
import { connectUser, TEST_FINGERPRINT } from "../helpers/tracker.js";

const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
const STARTUP_TIMEOUT_MS = 60_000;
const PASSWORD = "kill-nine-survivor";

const scratch = mkdtempSync(join(tmpdir(), "hychat-tracker-cli-"));
let dirs = 0;
const newDir = () => join(scratch, `data-${dirs++}`);

interface RunningCli {
  child: ChildProcess;
  address: NetAddress;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnCli(args: string[]): Omit<RunningCli, "address"> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, HYCHAT_HOME: scratch, HYCHAT_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Starts `hychat tracker` and resolves with the address from its `listening on H:P` line, once its fingerprint line followed. */
async function startCli(args: string[]): Promise<RunningCli> {
  const running = spawnCli(args);
  const address = await new Promise<NetAddress>((resolve, reject) => {
    const timer = setTimeout(() => {
      running.child.kill("SIGKILL");
      reject(new Error(`tracker did not start: ${running.stderr()}`));
    }, STARTUP_TIMEOUT_MS);
    const onData = () => {
      const match = /^listening on (.+):(\d+)\ntls fingerprint sha256:[0-9a-f]{64}\n/.exec(running.stdout());
      if (match === null) return;
      clearTimeout(timer);
      running.child.stdout?.off("data", onData);
      resolve({ host: match[1] as string, port: Number(match[2]) });
    };
    running.child.stdout?.on("data", onData);
    running.exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`tracker exited with ${code} before listening: ${running.stderr()}`));
    });
  });
  return { ...running, address };
}

describe("tracker command line", () => {
  const started: RunningCli[] = [];
  after(async () => {
    for (const running of started) {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGKILL");
      await running.exit;
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  test("tracker - --help shows the options and the default data dir", async () => {
    const help = spawnCli(["tracker", "--help"]);
    const { code } = await help.exit;
    assert.equal(code, 0);
    for (const option of ["--host", "--port", "--data-dir", "--ticket-ttl", "--log-level", "--log-file"]) {
      assert.ok(help.stdout().includes(option), option);
    }
    assert.ok(help.stdout().replace(/\s+/g, "").includes(join(scratch, "tracker")), help.stdout());
  });

  test("tracker - prints listening on H:P and its TLS fingerprint, serves over TLS, and exits 0 on SIGTERM", async () => {
    const dataDir = newDir();
    const running = await startCli(["tracker", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir]);
    started.push(running);
    assert.equal(running.address.host, "127.0.0.1");
    assert.ok(running.address.port > 0);
    const fingerprint = certificateFileFingerprint(join(dataDir, TLS_CERT_FILE));
    assert.match(fingerprint ?? "", /^sha256:[0-9a-f]{64}$/);
    assert.equal(
      running.stdout(),
      `listening on 127.0.0.1:${running.address.port}\ntls fingerprint ${fingerprint}\n`,
    );
    assert.equal(statSync(join(dataDir, TLS_KEY_FILE)).mode & 0o777, 0o600);
    const client = await TestClient.connect(running.address);
    assert.equal(client.serverFingerprint, fingerprint);
    await client.request("PING");
    running.child.kill("SIGTERM");
    assert.deepEqual(await running.exit, { code: 0, signal: null });
    await client.closed;
  });

  test("tracker - exits 0 on SIGINT", async () => {
    const running = await startCli(["tracker", "--port", "0", "--data-dir", newDir()]);
    started.push(running);
    running.child.kill("SIGINT");
    assert.deepEqual(await running.exit, { code: 0, signal: null });
  });

  test("tracker - a port in use is a clear error and a non-zero exit", async () => {
    const first = await startCli(["tracker", "--port", "0", "--data-dir", newDir()]);
    started.push(first);
    const second = spawnCli(["tracker", "--port", String(first.address.port), "--data-dir", newDir()]);
    const { code } = await second.exit;
    assert.notEqual(code, 0);
    assert.match(second.stderr(), /^error EADDRINUSE: hychat tracker cannot start on 127\.0\.0\.1:\d+: /m);
    assert.equal(second.stdout(), "");
    first.child.kill("SIGTERM");
    await first.exit;
  });

  test("tracker - bad flags are a clear error and a non-zero exit", async () => {
    for (const args of [
      ["--port", "http"],
      ["--port", "70000"],
      ["--ticket-ttl", "0"],
      ["--log-level", "loud"],
      ["--no-such-flag"],
    ]) {
      const run = spawnCli(["tracker", ...args]);
      const { code } = await run.exit;
      assert.notEqual(code, 0, args.join(" "));
      assert.match(run.stderr(), /error/i, args.join(" "));
      assert.equal(run.stdout().includes("listening on"), false);
    }
  });

  test("tracker - account, channel and invisible setting survive kill -9", async () => {
    const dataDir = newDir();
    const first = await startCli(["tracker", "--port", "0", "--data-dir", dataDir]);
    started.push(first);
    const alice = await connectUser(first.address, "Alice", PASSWORD);
    await alice.client.request("HOST", {
      fingerprint: TEST_FINGERPRINT,
      channel: "durable",
      port: 4000,
      view: "private",
      moderated: true,
    });
    await alice.client.request("INVISIBLE", { invisible: true });
    first.child.kill("SIGKILL");
    assert.equal((await first.exit).signal, "SIGKILL");
    await alice.client.closed;

    const second = await startCli(["tracker", "--port", "0", "--data-dir", dataDir]);
    started.push(second);
    const client = await TestClient.connect(second.address);
    try {
      // The ticket and its device survived: it resumes (before a SIGNIN from the same device revokes it).
      assert.equal((await client.request("RESUME", { ticket: alice.ticket })).username, "Alice");
      const signin = await client.request("SIGNIN", { username: "alice", password: PASSWORD });
      assert.equal(signin.username, "Alice");
      assert.equal(signin.invisible, true);
      const { channels } = (await client.request("LIST")) as { channels: ChannelListing[] };
      assert.deepEqual(channels, [
        {
          name: "durable",
          owner: "Alice",
          view: "private",
          moderated: true,
          online: false,
          address: null,
          fingerprint: null,
          members: 0,
          reach: null,
        },
      ]);
    } finally {
      await client.close();
      second.child.kill("SIGTERM");
      assert.equal((await second.exit).code, 0);
    }
  });
});
