import { median } from "./stats.js";

/** The figures a scenario produces, each hychat figure beside its baseline from the same run. */

export interface Target {
  /** What the target applies to: the hychat figure itself, or hychat / baseline. */
  subject: "hychat" | "ratio";
  op: "<" | "<=" | ">=";
  value: number;
}

export interface ResultRow {
  scenario: string;
  metric: string;
  unit: string;
  /** Median of the runs. */
  hychat: number;
  baseline: number | null;
  hychatRuns: number[];
  baselineRuns: number[];
  target?: Target;
  /** Extra facts worth keeping in results.json (not printed). */
  details?: Record<string, unknown>;
}

/** A row whose figures are the medians of its runs. */
export function medianRow(
  fields: Omit<ResultRow, "hychat" | "baseline"> & { hychatRuns: number[]; baselineRuns: number[] },
): ResultRow {
  return { ...fields, hychat: median(fields.hychatRuns), baseline: median(fields.baselineRuns) };
}

export function ratioOf(row: ResultRow): number | null {
  if (row.baseline === null || row.baseline === 0 || !Number.isFinite(row.baseline)) return null;
  return row.hychat / row.baseline;
}

/** True/false when the row has a target, undefined when it has none. */
export function meetsTarget(row: ResultRow): boolean | undefined {
  const target = row.target;
  if (target === undefined) return undefined;
  const value = target.subject === "ratio" ? ratioOf(row) : row.hychat;
  if (value === null || !Number.isFinite(value)) return false;
  switch (target.op) {
    case "<":
      return value < target.value;
    case "<=":
      return value <= target.value;
    case ">=":
      return value >= target.value;
  }
}

export function describeTarget(target: Target | undefined, unit: string): string {
  if (target === undefined) return "";
  return target.subject === "ratio"
    ? `ratio ${target.op} ${target.value}`
    : `${target.op} ${target.value} ${unit}`;
}
