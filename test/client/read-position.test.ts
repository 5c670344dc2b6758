import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SignatureVerifierPool } from "../../src/auth/verify-pool.js";
import { ChannelLink, type ChannelLinkContext } from "../../src/client/channel-link.js";
import { ClientStore } from "../../src/client/client-store.js";
import { HostConnectionPool } from "../../src/client/host-connection.js";
import { silentLogger } from "../../src/util/logger.js";

/** The next turn of the event loop, after the link's coalesced write has run. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A link on a real store that dials nothing (it has no address), counting position writes. */
/** Checks no signature here: the links get no messages. */
const verifierPool = new SignatureVerifierPool(1);

function openLink(store: ClientStore, pool: HostConnectionPool): { link: ChannelLink; writes: () => number } {
  let writes = 0;
  const save = store.savePosition.bind(store);
  store.savePosition = (name, position) => {
    writes += 1;
    save(name, position);
  };
  const context: ChannelLinkContext = {
    pool,
    store,
    logger: silentLogger,
    flushListener: { delivered: () => {}, dropped: () => {}, stalled: () => {} },
    identity: () => undefined,
    verifier: () => undefined,
    verifierPool,
    emit: () => {},
    lookup: () => {},
    removed: () => {},
  };
  return { link: new ChannelLink("news", context), writes: () => writes };
}

/** A store at `file` with "news" joined, `lastSeq` messages seen and none read. */
function seededStore(file: string, lastSeq: number): ClientStore {
  const seeded = ClientStore.open(file);
  seeded.markJoined("news");
  seeded.savePosition("news", { lastSeq, unread: lastSeq, readSeq: 0 });
  seeded.close();
  return ClientStore.open(file);
}

describe("client read positions", () => {
  const dir = mkdtempSync(join(tmpdir(), "hychat-read-position-"));
  const pool = new HostConnectionPool({ logger: silentLogger });
  after(async () => {
    await pool.close();
    await verifierPool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("client - a thousand markRead calls in one turn are one write, and the position survives a reopen", async () => {
    const file = join(dir, "coalesced.db");
    const store = seededStore(file, 500);
    const { link, writes } = openLink(store, pool);
    assert.equal(link.snapshot().unread, 500);
    for (let i = 0; i < 1_000; i++) link.markRead();
    assert.equal(writes(), 0, "nothing written while the turn runs");
    await nextTurn();
    assert.equal(writes(), 1);
    assert.deepEqual([store.channel("news")?.readSeq, store.channel("news")?.unread], [500, 0]);

    // Nothing changed: the next turn writes nothing more.
    await nextTurn();
    assert.equal(writes(), 1);
    link.close();
    store.close();
    const reopened = ClientStore.open(file);
    assert.deepEqual([reopened.channel("news")?.readSeq, reopened.channel("news")?.unread], [500, 0]);
    reopened.close();
  });

  test("client - a markRead just before close is written by the close", () => {
    const file = join(dir, "closing.db");
    const store = seededStore(file, 7);
    const { link, writes } = openLink(store, pool);
    link.markRead();
    link.close();
    assert.equal(writes(), 1);
    store.close();
    const reopened = ClientStore.open(file);
    assert.deepEqual([reopened.channel("news")?.readSeq, reopened.channel("news")?.unread], [7, 0]);
    reopened.close();
  });
});
