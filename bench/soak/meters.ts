import { readFileSync } from "node:fs";
import { ticksToUs } from "../lib/proc-stats.js";
import type { PhaseName } from "./report.js";

/** CPU time of the whole machine so far, all cores (microseconds), from /proc/stat: busy, and stolen by the hypervisor. */
function machineCpuUs(): { busyUs: number; stealUs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal ...
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busyUs: ticksToUs(user + nice + system + irq + softirq), stealUs: ticksToUs(steal) };
}

/** The machine's CPU besides the named processes: what the soak does not control. */
export const MACHINE = "machine, all processes";
export const STEAL = "stolen by the hypervisor";

/**
 * CPU used in each phase, as percent of one core: by each named process (a reader of its CPU
 * microseconds so far), by the whole machine, and stolen from it.
 */
export class CpuMeter {
  private readonly percents = new Map<PhaseName, Record<string, number>>();
  private start: { phase: PhaseName; atMs: number; readings: Record<string, number> } | undefined;

  constructor(private readonly readers: Record<string, () => Promise<number>>) {}

  private async read(): Promise<Record<string, number>> {
    const machine = machineCpuUs();
    const entries = await Promise.all(
      Object.entries(this.readers).map(async ([name, reader]) => [name, await reader()] as const),
    );
    return { ...Object.fromEntries(entries), [MACHINE]: machine.busyUs, [STEAL]: machine.stealUs };
  }

  async begin(phase: PhaseName): Promise<void> {
    await this.end();
    this.start = { phase, atMs: performance.now(), readings: await this.read() };
  }

  async end(): Promise<void> {
    const start = this.start;
    if (start === undefined) return;
    this.start = undefined;
    const readings = await this.read();
    const elapsedUs = (performance.now() - start.atMs) * 1000;
    this.percents.set(
      start.phase,
      Object.fromEntries(
        Object.entries(readings).map(([name, us]) => [
          name,
          ((us - (start.readings[name] ?? 0)) / elapsedUs) * 100,
        ]),
      ),
    );
  }

  figures(): Partial<Record<PhaseName, Record<string, number>>> {
    return Object.fromEntries(this.percents);
  }
}

/** The highest RSS among samples of a process in each phase. */
export class RssSampler {
  private readonly peaks = new Map<PhaseName, number>();
  private phase: PhaseName | undefined;

  constructor(private readonly rssBytes: () => number | undefined) {}

  begin(phase: PhaseName): void {
    this.phase = phase;
    this.sample();
  }

  end(): void {
    this.sample();
    this.phase = undefined;
  }

  sample(): void {
    if (this.phase === undefined) return;
    const rss = this.rssBytes();
    if (rss !== undefined) this.peaks.set(this.phase, Math.max(this.peaks.get(this.phase) ?? 0, rss));
  }

  peak(phase: PhaseName): number {
    return this.peaks.get(phase) ?? 0;
  }
}
