import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { acquireInstanceLock, LOCK_FILE } from "../../src/peer/instance-lock.js";

/** Far above any Linux pid_max: no process has it. */
const DEAD_PID = 2 ** 30;

describe("peer instance lock", () => {
  const dir = mkdtempSync(join(tmpdir(), "hychat-lock-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("peer - the lock holds this process's pid, refuses a second holder and is gone once released", () => {
    const lock = acquireInstanceLock(dir, "ann");
    assert.equal(readFileSync(join(dir, LOCK_FILE), "utf8").trim(), String(process.pid));
    assert.throws(() => acquireInstanceLock(dir, "ann"), { code: "DATA_DIR_IN_USE" });
    lock.release();
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  test("peer - a lock left by a process that is gone is taken over", () => {
    writeFileSync(join(dir, LOCK_FILE), `${DEAD_PID}\n`);
    const lock = acquireInstanceLock(dir, "ann");
    assert.equal(readFileSync(join(dir, LOCK_FILE), "utf8").trim(), String(process.pid));
    lock.release();
  });

  test("peer - a lock held by another live process is refused", () => {
    // pid 1 always exists (and may belong to another user: EPERM still means alive).
    writeFileSync(join(dir, LOCK_FILE), "1\n");
    assert.throws(() => acquireInstanceLock(dir, "ann"), {
      code: "DATA_DIR_IN_USE",
      message: /ann is already signed in by another peer on this data dir \(pid 1\)/,
    });
    rmSync(join(dir, LOCK_FILE));
  });
});
