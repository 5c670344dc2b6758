import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ProcessStats } from "./child.js";

let clockTicksPerSecond: number | undefined;

/** `getconf CLK_TCK`, asked on first use so that importing this module costs a process nothing. */
function ticksPerSecond(): number {
  clockTicksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;
  return clockTicksPerSecond;
}

/**
 * User plus system CPU time of a process so far, in clock ticks, from /proc/PID/stat: cheap
 * enough for a measured process to read about itself (no child process, no conversion).
 */
export function procCpuTicks(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks (`procCpuTicks`) in microseconds. */
export function ticksToUs(ticks: number): number {
  return (ticks / ticksPerSecond()) * 1e6;
}

/**
 * CPU time and memory of any process by pid, read from /proc: for processes that are not bench
 * scripts (the shipped CLI) and cannot answer a `stats` call. CPU has clock-tick resolution
 * (`getconf CLK_TCK`, usually 10 ms).
 */
export function procStats(pid: number): ProcessStats {
  const ticks = procCpuTicks(pid);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kilobytes = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return {
    cpuUs: ticksToUs(ticks),
    rssBytes: kilobytes("VmRSS") * 1024,
    maxRssBytes: kilobytes("VmHWM") * 1024,
  };
}
