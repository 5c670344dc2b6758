import { describeTarget, meetsTarget, type ResultRow, ratioOf } from "./results.js";

/** Three significant digits, thousands separated; large counts keep their integer part. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "–";
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
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
        ratio === null ? "–" : ratio.toFixed(2),
        describeTarget(row.target, row.unit),
        pass === undefined ? "" : pass ? "pass" : "**FAIL**",
        String(row.hychatRuns.length),
      ];
    }),
  );
}
