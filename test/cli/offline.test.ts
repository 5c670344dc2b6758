import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { CliProcess } from "./cli-process.js";

const HOME = mkdtempSync(join(tmpdir(), "hychat-cli-offline-"));
const ENV = { HYCHAT_HOME: HOME, HYCHAT_TEST_PASSWORD: TEST_PASSWORD };

/** A 127.0.0.1 `HOST:PORT` nothing listens on (it was free a moment ago). */
async function deadTracker(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe("cli offline", () => {
  let tracker: TestTracker;
  const children: CliProcess[] = [];

  /** `hychat peer` signing up or in as `username`, headless, with that user's own data dir. */
  function peer(trackerAddress: string, username: string): CliProcess {
    const child = new CliProcess(
      [
        "peer",
        "--tracker",
        trackerAddress,
        "--username",
        username,
        "--password-env",
        "HYCHAT_TEST_PASSWORD",
        "--signup",
        "--data-dir",
        join(HOME, username),
        "--headless",
      ],
      ENV,
    );
    children.push(child);
    return child;
  }

  before(async () => {
    tracker = await startTestTracker();
  });
  after(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await tracker.close();
    rmSync(HOME, { recursive: true, force: true });
  });

  test("cli - with the tracker down, a sign-in falls back to the saved session and the peer stays up", async () => {
    const { host, port } = tracker.address;
    const first = peer(`${host}:${port}`, "dave");
    await first.waitForLine(/^signed in as dave \(user\)$/);
    first.child.kill("SIGTERM");
    assert.deepEqual(await first.waitForExit(), { code: 0, signal: null });

    const offline = peer(await deadTracker(), "dave");
    await offline.waitForLine(
      /^warning: cannot sign in while the tracker is unreachable: using the saved session of dave$/,
    );
    await offline.waitForLine(/^signed in as dave \(user\)$/);
    assert.ok(offline.stdoutLines.some((line) => /is unreachable: working offline as dave/.test(line)));
    offline.child.kill("SIGTERM");
    assert.deepEqual(await offline.waitForExit(), { code: 0, signal: null });
  });

  test("cli - with the tracker down and no saved session, the sign-in fails with TIMEOUT", async () => {
    const stranger = peer(await deadTracker(), "erin");
    assert.deepEqual(await stranger.waitForExit(), { code: 1, signal: null });
    assert.match(stranger.stderr, /^error TIMEOUT: tracker .* unreachable/m);
  });
});
