import { join } from "node:path";
import { nowUs } from "../lib/clock.js";
import { deviceIdFor, signIn, signInAsGuest } from "../lib/credentials.js";
import { directoryError, listWholeDirectory, pagesOf } from "../lib/directory-pages.js";
import { openFileLimit } from "../lib/fd-limit.js";
import { BenchChild } from "../lib/processes.js";
import { progress } from "../lib/progress.js";
import { medianRow } from "../lib/results.js";
import type { Scenario, ScenarioContext } from "../lib/scenario.js";
import { OWNER, type ServerChild, signUp, startTracker } from "../lib/stacks.js";
import { registerChannels } from "../lib/tracker-seed.js";
import { BENCH_FINGERPRINT, WireClient } from "../lib/wire.js";
import type { DirectoryPeerConfig, ListedOutcome } from "../processes/directory-peer.js";
import type { StormOutcome, WatchOutcome } from "../processes/directory-watchers.js";

const PEERS_FULL = 1_000;
const PEERS_QUICK = 200;
const CHANNELS_FULL = 10_000;
const CHANNELS_QUICK = 2_000;
/**
 * Connections re-listing at once during the re-LIST storm, each paging through the whole directory:
 * the old peers sent theirs all at once, but a window keeps the storm's figures comparable with the
 * runs before `LIST` had pages (when 1,000 answers of a few MB each would have sat in the tracker's memory).
 */
const STORM_WINDOW = 32;
const EVENT_TIMEOUT_MS = 30_000;
/** Descriptors a process needs besides its sockets (stdio, databases, the IPC channel, libuv). */
const FD_SLACK = 200;

interface RetInfo {
  requests: Record<string, number>;
}

interface ChannelRun {
  cpuMs: number;
  wallMs: number;
  listDelta: number;
}

interface ListRun {
  cpuMs: number;
  wallMs: number;
}

/** What the tracker spends on one new channel while 1,000 peers are online, beside the LISTs it replaced. */
export const trackerChannelsScenario: Scenario = {
  name: "tracker-channels",
  baseline:
    "the same tracker, channels and connections answering LIST, each LIST of the whole directory paged as a peer fetches it (every page of 500, each sent when the one before was answered): one whole-directory LIST from one signed-in connection (the first row), and the re-LIST storm a new channel caused before CHANNELS events carried the listing: every watcher connection lists the whole directory once, 32 connections at a time (the other rows); tracker CPU from its own process.cpuUsage(), bracketed the same way on both sides",
  async run(context) {
    const runs = context.quick ? 3 : 5;
    const channels = context.quick ? CHANNELS_QUICK : CHANNELS_FULL;
    const wanted = context.quick ? PEERS_QUICK : PEERS_FULL;
    const limit = openFileLimit();
    // Each watcher socket is a descriptor in the watchers' process and one in the tracker's.
    const peers = Math.min(wanted, limit.soft - FD_SLACK);
    if (peers < wanted)
      progress(`tracker-channels: open file limit ${limit.soft}: ${peers} peers, not ${wanted}`);
    const tracker = await startTracker(join(context.workDir, "tracker"));
    const clients: WireClient[] = [];
    const children: BenchChild[] = [];
    try {
      const startedUs = nowUs();
      clients.push(...(await registerChannels(tracker.ready.address, channels)));
      progress(
        `tracker-channels: ${channels} channels registered in ${((nowUs() - startedUs) / 1e6).toFixed(1)} s`,
      );
      await signUp(tracker.ready.address, OWNER);
      const owner = await WireClient.open(tracker.ready.address);
      clients.push(owner);
      await signIn(owner, OWNER, deviceIdFor(OWNER.username));
      // The baseline's connection is signed in as a peer's is (it gets the events too).
      const lister = await WireClient.open(tracker.ready.address);
      clients.push(lister);
      await signInAsGuest(lister);

      const watchers = await BenchChild.start("directory-watchers.ts", { name: "directory watchers" });
      children.push(watchers);
      const { setupMs } = await watchers.call<{ setupMs: number }>(
        "setup",
        { tracker: tracker.ready.address, count: peers },
        60_000 + peers * 60,
      );
      const peerConfig: DirectoryPeerConfig = {
        tracker: tracker.ready.address,
        dataDir: join(context.workDir, "directory-peer"),
      };
      const peer = await BenchChild.start<{ directorySize: number }>("directory-peer.ts", {
        name: "directory peer",
        args: [JSON.stringify(peerConfig)],
      });
      children.push(peer);
      if (peer.ready.directorySize !== channels)
        throw new Error(`the peer's directory lists ${peer.ready.directorySize} channels, not ${channels}`);
      progress(
        `tracker-channels: ${peers} watcher connections signed in in ${(setupMs / 1000).toFixed(1)} s`,
      );

      const system: System = { tracker, owner, lister, watchers, peer, peers };
      let listed = channels;
      // One of each unmeasured first, so the tracker is past its JIT warm-up.
      await newChannel(context, system, "warm", 0);
      listed += 1;
      await wholeList(system, listed);
      const channelRuns: ChannelRun[] = [];
      const listRuns: ListRun[] = [];
      for (let run = 0; run < runs; run++) {
        channelRuns.push(await newChannel(context, system, `r${run}`, run + 1));
        listed += 1;
        listRuns.push(await wholeList(system, listed));
        progress(
          `tracker-channels: run ${run + 1}: new channel ${channelRuns[run]?.cpuMs.toFixed(2)} ms tracker CPU, ` +
            `all ${peers + 1} peers told in ${channelRuns[run]?.wallMs.toFixed(1)} ms, LIST requests +${channelRuns[run]?.listDelta}; ` +
            `one whole-directory LIST (${pagesOf(listed)} pages) ${listRuns[run]?.cpuMs.toFixed(2)} ms tracker CPU`,
        );
      }
      const storm = await reListStorm(context, system, pagesOf(listed));
      progress(
        `tracker-channels: re-LIST storm of ${peers} whole-directory LISTs (${storm.pages} pages): ${storm.cpuMs.toFixed(0)} ms tracker CPU, ` +
          `${storm.wallMs.toFixed(0)} ms, LIST requests +${storm.listDelta}`,
      );
      recordRows(context, { peers, channels, pages: pagesOf(listed), channelRuns, listRuns, storm });
    } finally {
      await Promise.all(children.map((child) => child.stop()));
      await Promise.all(clients.map((client) => client.close()));
      await tracker.stop();
    }
  },
};

interface System {
  tracker: ServerChild;
  owner: WireClient;
  lister: WireClient;
  watchers: BenchChild;
  peer: BenchChild;
  /** Watcher connections (the real peer comes on top). */
  peers: number;
}

async function cpuUs(tracker: ServerChild): Promise<number> {
  return (await tracker.stats()).cpuUs;
}

async function listRequests(owner: WireClient): Promise<number> {
  const info = await owner.request<RetInfo>("RET_INFO", {});
  return info.requests.LIST ?? 0;
}

/**
 * The owner HOSTs a new channel: tracker CPU from just before the HOST until every watcher got its
 * CHANNELS event and the real peer's directory lists it, and the wall time for that.
 */
async function newChannel(
  context: ScenarioContext,
  system: System,
  tag: string,
  index: number,
): Promise<ChannelRun> {
  const channel = `new-channel-${tag}`;
  const address = { host: "127.0.0.1", port: 45_000 + index };
  const listsBefore = await listRequests(system.owner);
  await system.watchers.call("expect", { channel, address });
  await system.peer.call("expect", { channel });
  const cpuBefore = await cpuUs(system.tracker);
  const sentUs = nowUs();
  await system.owner.request("HOST", { channel, ...address, fingerprint: BENCH_FINGERPRINT });
  const [watched, listed] = await Promise.all([
    system.watchers.call<WatchOutcome>("wait", { timeoutMs: EVENT_TIMEOUT_MS }, EVENT_TIMEOUT_MS + 10_000),
    system.peer.call<ListedOutcome>("wait", { timeoutMs: EVENT_TIMEOUT_MS }, EVENT_TIMEOUT_MS + 10_000),
  ]);
  const cpuAfter = await cpuUs(system.tracker);
  const listsAfter = await listRequests(system.owner);
  for (const error of [...watched.errors, ...listed.errors])
    context.integrityFailure(`tracker-channels ${channel}: ${error}`);
  return {
    cpuMs: (cpuAfter - cpuBefore) / 1000,
    wallMs: (Math.max(watched.lastReceiptUs, listed.listedUs) - sentUs) / 1000,
    listDelta: listsAfter - listsBefore,
  };
}

/** One LIST of the whole directory (every page) from one signed-in connection, bracketed like a new channel. */
async function wholeList(system: System, expected: number): Promise<ListRun> {
  const cpuBefore = await cpuUs(system.tracker);
  const directory = await listWholeDirectory(system.lister);
  const cpuAfter = await cpuUs(system.tracker);
  const error = directoryError(directory, expected);
  if (error !== undefined) throw new Error(error);
  return { cpuMs: (cpuAfter - cpuBefore) / 1000, wallMs: directory.wallMs };
}

interface StormRun {
  cpuMs: number;
  wallMs: number;
  listDelta: number;
  bytes: number;
  /** `LIST` pages answered, all connections together. */
  pages: number;
}

/**
 * What a new channel cost before the event carried its listing: every online peer lists the whole
 * directory once, `pages` pages each.
 */
async function reListStorm(context: ScenarioContext, system: System, pages: number): Promise<StormRun> {
  const listsBefore = await listRequests(system.owner);
  const cpuBefore = await cpuUs(system.tracker);
  const storm = await system.watchers.call<StormOutcome>(
    "listStorm",
    { window: STORM_WINDOW },
    120_000 + system.peers * 200,
  );
  const cpuAfter = await cpuUs(system.tracker);
  const listsAfter = await listRequests(system.owner);
  for (const error of storm.errors) context.integrityFailure(`tracker-channels storm: ${error}`);
  if (storm.answered !== system.peers)
    context.integrityFailure(
      `tracker-channels storm: ${storm.answered} of ${system.peers} whole-directory LISTs answered`,
    );
  if (storm.pages !== system.peers * pages)
    context.integrityFailure(
      `tracker-channels storm: ${storm.pages} LIST pages answered, not ${system.peers} × ${pages}`,
    );
  return {
    cpuMs: (cpuAfter - cpuBefore) / 1000,
    wallMs: (storm.lastAnswerUs - storm.firstSendUs) / 1000,
    listDelta: listsAfter - listsBefore,
    bytes: storm.bytes,
    pages: storm.pages,
  };
}

function recordRows(
  context: ScenarioContext,
  figures: {
    peers: number;
    channels: number;
    /** Pages of one whole-directory LIST at the end (the channels registered then). */
    pages: number;
    channelRuns: ChannelRun[];
    listRuns: ListRun[];
    storm: StormRun;
  },
): void {
  const { peers, channels, pages, channelRuns, listRuns, storm } = figures;
  const scenario = "tracker";
  const online = `${peers.toLocaleString("en-US")} peers online`;
  const stored = `${channels.toLocaleString("en-US")} channels`;
  const cpuRuns = channelRuns.map((run) => run.cpuMs);
  const details = {
    peers,
    realPeers: 1,
    channels,
    stormWindow: STORM_WINDOW,
    stormBytes: storm.bytes,
    stormPages: storm.pages,
    pagesPerList: pages,
    oneListWallMs: listRuns.map((run) => run.wallMs),
  };
  const row = (metric: string, hychatRuns: number[], baselineRuns: number[]): void =>
    context.record(medianRow({ scenario, metric, unit: "ms", hychatRuns, baselineRuns, details }));
  row(
    `tracker CPU for one new channel, ${online}, ${stored} (baseline: one whole-directory LIST, ${pages} pages)`,
    cpuRuns,
    listRuns.map((run) => run.cpuMs),
  );
  row(
    `tracker CPU for one new channel, ${online} (baseline: ${peers.toLocaleString("en-US")} whole-directory re-LISTs)`,
    cpuRuns,
    [storm.cpuMs],
  );
  row(
    `new channel until all ${online} have its listing`,
    channelRuns.map((run) => run.wallMs),
    [storm.wallMs],
  );
  const deltaRuns = channelRuns.map((run) => run.listDelta);
  context.record({
    scenario,
    // At most one peer may list the directory for a new channel (one that just signed in), never each.
    metric: `LIST requests (pages) for one new channel (most in any run), ${online}; one peer's whole-directory LIST is ${pages}`,
    unit: "LISTs",
    hychat: Math.max(...deltaRuns),
    baseline: storm.listDelta,
    hychatRuns: deltaRuns,
    baselineRuns: [storm.listDelta],
    target: { subject: "hychat", op: "<=", value: pages },
    details,
  });
}
