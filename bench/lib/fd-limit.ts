import { readFileSync } from "node:fs";

/** The soft and hard limits on open files of this process (children inherit them). */
export function openFileLimit(): { soft: number; hard: number } {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const line = limits.split("\n").find((entry) => entry.startsWith("Max open files"));
  const [soft, hard] = (line ?? "").replace("Max open files", "").trim().split(/\s+/);
  const parse = (value: string | undefined): number =>
    value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value ?? 1024);
  return { soft: parse(soft), hard: parse(hard) };
}
