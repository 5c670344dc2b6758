import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { ChatMessage } from "../../src/protocol/host-schemas.js";
import { connectMember, startTestHost } from "../helpers/host.js";
import { connectUser, startTestTracker } from "../helpers/tracker.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/host-process.ts", import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Starts the fixture host process; resolves with it and its port once it printed `ready`. */
function startHostProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    let output = "";
    let errors = "";
    const timer = setTimeout(() => reject(new Error(`host process not ready in time: ${errors}`)), 60_000);
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready (\d+)\n/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`host process exited (${code}) before ready: ${errors}`));
    });
  });
  return { child, ready, exited };
}

test("durability - every acknowledged message survives kill -9 of the host, once each and in order", async () => {
  const tracker = await startTestTracker();
  const dataDir = mkdtempSync(join(tmpdir(), "hychat-host-kill-"));
  const owner = await connectUser(tracker.address, "owner");
  const { child, ready, exited } = startHostProcess({
    HYCHAT_HOST_DATA_DIR: dataDir,
    HYCHAT_HOST_OWNER: owner.username,
    HYCHAT_HOST_TICKET: owner.ticket,
    HYCHAT_HOST_KEY: owner.key.toPem(),
    HYCHAT_HOST_TRACKER: `${tracker.address.host}:${tracker.address.port}`,
    HYCHAT_HOST_TRACKER_FINGERPRINT: tracker.tracker.fingerprint,
    HYCHAT_HOST_CHANNEL: "durable",
  });
  try {
    const port = await ready;
    const sender = await connectMember({ host: "127.0.0.1", port }, owner.ticket, "durable");
    const acknowledged = new Map<string, number>();
    const killAfter = 150;
    const inFlight = 16;
    let next = 0;
    let killed = false;
    // Keeps `inFlight` messages pipelined; kills the host once `killAfter` are acknowledged.
    const worker = async () => {
      while (!killed && next < 5_000) {
        const msgId = `k-${String(next).padStart(5, "0")}`;
        next += 1;
        try {
          const reply = await sender.client.request("MESSAGE", { channel: "durable", msgId, text: msgId });
          acknowledged.set(msgId, reply.seq as number);
          if (acknowledged.size >= killAfter && !killed) {
            killed = true;
            child.kill("SIGKILL");
          }
        } catch {
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    await exited;
    await sender.client.close();
    assert.ok(acknowledged.size >= killAfter);

    const restarted = await startTestHost({ tracker, dataDir, owner: "owner" });
    try {
      const reader = await connectMember(restarted.address, owner.ticket, "durable", { since: 0 });
      const stored: ChatMessage[] = [...reader.joined.history];
      let hasMore = reader.joined.hasMore;
      while (hasMore) {
        const last = stored[stored.length - 1]?.seq ?? 0;
        const page = await reader.client.request("HISTORY", { channel: "durable", after: last, limit: 500 });
        stored.push(...(page.messages as ChatMessage[]));
        hasMore = page.hasMore as boolean;
      }
      await reader.client.close();
      assert.deepEqual(
        stored.map((message) => message.seq),
        Array.from({ length: stored.length }, (_, index) => index + 1),
        "seqs from 1 without gaps",
      );
      const byMsgId = new Map<string, number[]>();
      for (const message of stored)
        byMsgId.set(message.msgId, [...(byMsgId.get(message.msgId) ?? []), message.seq]);
      for (const [msgId, seq] of acknowledged) {
        assert.deepEqual(
          byMsgId.get(msgId),
          [seq],
          `${msgId} stored exactly once under its acknowledged seq`,
        );
      }
      const ids = stored.map((message) => message.msgId);
      assert.deepEqual(ids, [...ids].sort(), "stored in the order they were sent");
    } finally {
      await restarted.close();
    }
  } finally {
    child.kill("SIGKILL");
    await exited;
    await owner.client.close();
    await tracker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
