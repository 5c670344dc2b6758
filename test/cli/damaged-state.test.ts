import assert from "node:assert/strict";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ClientStore } from "../../src/client/client-store.js";
import { HistoryStore } from "../../src/host/history-store.js";
import { DamagedDataError } from "../../src/util/damaged-data.js";
import { connectUser, startTestTracker, TEST_PASSWORD, type TestTracker } from "../helpers/tracker.js";
import { openPeer } from "../peer/harness.js";
import { CliProcess } from "./cli-process.js";

const root = mkdtempSync(join(tmpdir(), "hychat-damaged-"));
after(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  dirs += 1;
  return join(root, `d${dirs}`);
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Overwrites one page of an SQLite file (default page size) with zeros. */
function zeroPage(file: string, page: number): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, Buffer.alloc(4096), 0, 4096, (page - 1) * 4096);
  } finally {
    closeSync(fd);
  }
}

/** A tracker data dir that was used: a few accounts signed up, then closed cleanly (WAL checkpointed). */
async function usedTrackerDir(): Promise<string> {
  const dataDir = freshDir();
  const tracker = await startTestTracker({ dataDir });
  try {
    for (const name of ["alice", "bob", "carol"])
      await (await connectUser(tracker.address, name)).client.close();
  } finally {
    await tracker.close();
  }
  return dataDir;
}

/** The start is refused with `DAMAGED_DATA`, naming `file` and saying what to do. */
async function assertRefused(start: Promise<TestTracker>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(start, (error: unknown) => {
    assert.ok(error instanceof DamagedDataError, String(error));
    assert.equal(error.code, "DAMAGED_DATA");
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`${file} `), error.message);
    assert.match(error.message, problem);
    assert.match(error.message, /restore it from a backup/);
    return true;
  });
}

describe("damaged state at start", () => {
  test("damaged state - a zeroed page in tracker.db: the tracker refuses to start, naming the file", async () => {
    const dataDir = await usedTrackerDir();
    zeroPage(join(dataDir, "tracker.db"), 2);
    await assertRefused(startTestTracker({ dataDir }), join(dataDir, "tracker.db"), /is damaged \(/);
  });

  test("damaged state - tracker.db emptied or removed beside the signing key: refused, not started empty", async () => {
    const emptied = await usedTrackerDir();
    truncateSync(join(emptied, "tracker.db"), 0);
    await assertRefused(startTestTracker({ dataDir: emptied }), join(emptied, "tracker.db"), /holds no data/);
    const removed = await usedTrackerDir();
    rmSync(join(removed, "tracker.db"));
    await assertRefused(startTestTracker({ dataDir: removed }), join(removed, "tracker.db"), /is missing/);
  });

  test("damaged state - a tracker-id that does not parse, or a key file gone beside accounts: refused", async () => {
    const badId = await usedTrackerDir();
    writeFileSync(join(badId, "tracker-id"), "not an id at all\n");
    await assertRefused(
      startTestTracker({ dataDir: badId }),
      join(badId, "tracker-id"),
      /is not a tracker id/,
    );
    const emptyId = await usedTrackerDir();
    writeFileSync(join(emptyId, "tracker-id"), "");
    await assertRefused(
      startTestTracker({ dataDir: emptyId }),
      join(emptyId, "tracker-id"),
      /is not a tracker id/,
    );
    const noKey = await usedTrackerDir();
    rmSync(join(noKey, "tracker-key.pem"));
    await assertRefused(
      startTestTracker({ dataDir: noKey }),
      join(noKey, "tracker-key.pem"),
      /is missing, but the tracker's database holds accounts/,
    );
    const badKey = await usedTrackerDir();
    writeFileSync(
      join(badKey, "tracker-key.pem"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    await assertRefused(
      startTestTracker({ dataDir: badKey }),
      join(badKey, "tracker-key.pem"),
      /not a readable/,
    );
  });

  test("damaged state - a first start cut short before the key was made starts normally", async () => {
    const dataDir = await usedTrackerDir();
    const fresh = freshDir();
    const tracker = await startTestTracker({ dataDir: fresh });
    await tracker.close();
    for (const file of ["tracker-key.pem", "tracker-id"]) rmSync(join(fresh, file));
    const again = await startTestTracker({ dataDir: fresh });
    await again.close();
    // And a used one still starts: the checks refuse damage, not data.
    const used = await startTestTracker({ dataDir });
    await used.close();
  });

  test("damaged state - a tracker certificate that does not parse is refused naming it", async () => {
    const dataDir = await usedTrackerDir();
    writeFileSync(join(dataDir, "tls-cert.pem"), "garbage\n");
    await assert.rejects(startTestTracker({ dataDir }), (error: unknown) => {
      assert.ok(error instanceof DamagedDataError);
      assert.equal(error.file, join(dataDir, "tls-cert.pem"));
      assert.match(error.message, /holds no readable certificate/);
      return true;
    });
  });

  test("damaged state - a damaged client.db or host.db is refused naming the file", () => {
    const client = join(root, "client.db");
    writeFileSync(client, "this is not an SQLite database, not at all, not even close\n");
    assert.throws(
      () => ClientStore.open(client),
      (error: unknown) => {
        assert.ok(error instanceof DamagedDataError, String(error));
        assert.equal(error.code, "DAMAGED_DATA");
        assert.match(error.message, new RegExp(`^${escaped(client)} is damaged .*move it aside`));
        return true;
      },
    );
    const hostDir = freshDir();
    HistoryStore.open(hostDir).close();
    zeroPage(join(hostDir, "host.db"), 2);
    assert.throws(
      () => HistoryStore.open(hostDir),
      (error: unknown) =>
        error instanceof DamagedDataError &&
        error.message.startsWith(`${join(hostDir, "host.db")} is damaged (`),
    );
  });

  test("damaged state - signing in on a peer whose client.db is damaged fails naming the file", async () => {
    const tracker = await startTestTracker();
    const dataDir = freshDir();
    try {
      const first = await openPeer(tracker.address, dataDir);
      await first.signUp("dora", TEST_PASSWORD);
      await first.close();
      writeFileSync(join(dataDir, "dora", "client.db"), "garbage ".repeat(1000));
      rmSync(join(dataDir, "dora", "client.db-wal"), { force: true });
      rmSync(join(dataDir, "dora", "client.db-shm"), { force: true });
      const second = await openPeer(tracker.address, dataDir);
      try {
        await assert.rejects(second.signIn("dora", TEST_PASSWORD), (error: unknown) => {
          assert.equal((error as { code?: unknown }).code, "DAMAGED_DATA");
          const file = join(dataDir, "dora", "client.db");
          assert.match((error as Error).message, new RegExp(`^${escaped(file)} is damaged`));
          return true;
        });
      } finally {
        await second.close();
      }
    } finally {
      await tracker.close();
    }
  });

  test("damaged state - a known-trackers.json that does not parse stops the peer, naming the file", async () => {
    const dataDir = freshDir();
    const file = join(dataDir, "known-trackers.json");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, "{ not json");
    await assert.rejects(openPeer({ host: "127.0.0.1", port: 1 }, dataDir), (error: unknown) => {
      assert.ok(error instanceof DamagedDataError, String(error));
      assert.equal(error.file, file);
      return true;
    });
  });

  test("damaged state - hychat tracker on a damaged tracker.db prints error DAMAGED_DATA with the file and exits 1", async () => {
    const dataDir = await usedTrackerDir();
    zeroPage(join(dataDir, "tracker.db"), 2);
    const child = new CliProcess(["tracker", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
      HYCHAT_HOME: root,
    });
    assert.deepEqual(await child.waitForExit(), { code: 1, signal: null });
    assert.match(
      child.stderr,
      new RegExp(
        `^error DAMAGED_DATA: hychat tracker cannot start on 127\\.0\\.0\\.1:0: ${escaped(join(dataDir, "tracker.db"))} is damaged .*restore it from a backup`,
        "m",
      ),
    );
    assert.equal(child.stdout, "");
  });
});
