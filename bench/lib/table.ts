import { describeTarget, meetsTarget, type ResultRow, ratioOf } from "./results.js";

/** Three significant digits, thousands separated; large counts keep their integer part. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Two decimals; a ratio below 0.01 (and above 0) with two significant digits instead of "0.00". */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return "–";
  return ratio > 0 && ratio < 0.01 ? ratio.toPrecision(2) : ratio.toFixed(2);
}

export function markdownTable(headers: string[], rows: string[][]): string {
  const escapeCell = (cell: string): string => cell.replaceAll("|", "\\|");
  const lines = [
    `| ${headers.map(escapeCell).join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(" | ")} |`),
  ];
  return `${lines.join("\n")}\n`;
}

export function resultsTable(rows: ResultRow[]): string {
  return markdownTable(
    ["scenario", "metric", "hychat", "baseline", "hychat/baseline", "target", "result", "runs"],
    rows.map((row) => {
      const pass = meetsTarget(row);
      const ratio = ratioOf(row);
      return [
        row.scenario,
        `${row.metric} (${row.unit})`,
        formatNumber(row.hychat),
        formatNumber(row.baseline),
        formatRatio(ratio),
        describeTarget(row.target, row.unit),
        pass === undefined ? "" : pass ? "pass" : "**FAIL**",
        String(row.hychatRuns.length),
      ];
    }),
  );
}
