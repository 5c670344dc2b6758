import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { type ChildMessage, describeError, type ParentMessage } from "./ipc.js";

export type OpHandler = (args: never) => unknown;

/**
 * The child side of a bench process: answers the orchestrator's calls by op name, reports
 * readiness, and exits when the orchestrator goes away so no process outlives a run.
 */
export function serveParent(handlers: Record<string, OpHandler>): { ready(data: unknown): void } {
  const send = (message: ChildMessage): void => {
    if (process.connected) process.send?.(message);
  };
  process.on("message", (raw: ParentMessage) => {
    if (raw?.kind !== "call") return;
    const handler = handlers[raw.op] ?? profilerOps[raw.op];
    if (handler === undefined) {
      send({ kind: "reply", id: raw.id, ok: false, error: `unknown op ${raw.op}` });
      return;
    }
    Promise.resolve()
      .then(() => (handler as (args: unknown) => unknown)(raw.args))
      .then(
        (data) => send({ kind: "reply", id: raw.id, ok: true, data: data ?? null }),
        (error: unknown) => send({ kind: "reply", id: raw.id, ok: false, error: describeError(error) }),
      );
  });
  process.on("disconnect", () => process.exit(0));
  const fatal = (error: unknown): void => {
    send({ kind: "fatal", error: describeError(error) });
    process.exit(1);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  return { ready: (data) => send({ kind: "ready", data }) };
}

/** What every bench process reports about itself: CPU time and memory. */
export interface ProcessStats {
  cpuUs: number;
  rssBytes: number;
  maxRssBytes: number;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  return {
    cpuUs: cpu.user + cpu.system,
    rssBytes: process.memoryUsage.rss(),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Sampling interval of CPU profiles, in microseconds. */
const PROFILE_INTERVAL_US = 200;
let profiler: Session | undefined;

/** CPU profiling of a chosen window (a measured run), answered by every bench process. */
const profilerOps: Record<string, OpHandler> = {
  profileStart: async () => {
    if (profiler !== undefined) return;
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: PROFILE_INTERVAL_US });
    await profiler.post("Profiler.start");
  },
  profileStop: async (args: { path: string }) => {
    const session = profiler;
    if (session === undefined) return;
    profiler = undefined;
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(args.path, JSON.stringify(profile));
    session.disconnect();
  },
};
