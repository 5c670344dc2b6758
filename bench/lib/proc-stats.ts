import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ProcessStats } from "./child.js";

const CLOCK_TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/**
 * CPU time and memory of any process by pid, read from /proc: for processes that are not bench
 * scripts (the shipped CLI) and cannot answer a `stats` call. CPU has clock-tick resolution
 * (`getconf CLK_TCK`, usually 10 ms).
 */
export function procStats(pid: number): ProcessStats {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kilobytes = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return {
    cpuUs: (ticks / CLOCK_TICKS_PER_SECOND) * 1e6,
    rssBytes: kilobytes("VmRSS") * 1024,
    maxRssBytes: kilobytes("VmHWM") * 1024,
  };
}
