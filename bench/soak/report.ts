import { Histogram } from "../lib/stats.js";
import { formatNumber, markdownTable } from "../lib/table.js";
import { BOUNDS } from "./plan.js";
import type { PhaseFigures } from "./processes/legitimate.js";
import type { AttackTally } from "./tally.js";

/** The two phases of a soak: the legitimate clients alone, then beside the attacks. */
export type PhaseName = "quiet" | "attack";
export const PHASES: readonly PhaseName[] = ["quiet", "attack"];

export interface ServerFigures {
  /** Highest RSS among the samples taken in each phase. */
  phaseRssBytes: Record<PhaseName, number>;
  /** The kernel's high-water mark of RSS over the whole run (VmHWM), setup included. */
  peakRssBytes: number;
}

export interface SoakFigures {
  legitimate: Record<PhaseName, PhaseFigures>;
  tracker: ServerFigures;
  host: ServerFigures;
  /** CPU in each phase, percent of one core, by process (and the machine as a whole). */
  cpu: Partial<Record<PhaseName, Record<string, number>>>;
  attacks: AttackTally[];
  attackSeconds: number;
  /** Errors inside the attackers' own loops (not refusals): the attack did not run as planned. */
  attackerErrors: string[];
}

export interface Verdict {
  table: string;
  attackTable: string;
  refusedByCode: string;
  failures: string[];
}

const ms = (us: number): number => us / 1000;
const mb = (bytes: number): number => bytes / 1e6;

function failuresOf(figures: PhaseFigures): string {
  const entries = Object.entries(figures.failures);
  return entries.length === 0 ? "none" : entries.map(([code, count]) => `${code} ×${count}`).join(", ");
}

function countsText(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0
    ? "–"
    : entries.map(([code, count]) => `${code} ${count.toLocaleString("en-US")}`).join(", ");
}

/** The bounds table, the attacks' table, and every reason the soak fails (none: it passed). */
export function verdict(figures: SoakFigures): Verdict {
  const failures: string[] = [];
  const rows: string[][] = [];
  const row = (figure: string, values: (phase: PhaseName) => string, bound = "", pass?: boolean): void => {
    if (pass === false) failures.push(`${figure}: ${values("attack")} (bound ${bound})`);
    rows.push([
      figure,
      values("quiet"),
      values("attack"),
      bound,
      pass === undefined ? "" : pass ? "pass" : "**FAIL**",
    ]);
  };
  const legit = (phase: PhaseName): PhaseFigures => figures.legitimate[phase];
  const signIn = (phase: PhaseName): Histogram => Histogram.fromJSON(legit(phase).signInUs);
  const message = (phase: PhaseName): Histogram => Histogram.fromJSON(legit(phase).messageUs);
  const messageOk = (phase: PhaseName): Histogram => Histogram.fromJSON(legit(phase).messageOkUs);

  row("sign-in, connect to ticket, p50 (ms)", (p) => formatNumber(ms(signIn(p).percentile(50))));
  const signInP99 = ms(signIn("attack").percentile(99));
  // Against the same run's quiet phase too: on a busy machine the quiet figure alone can reach 2 s.
  const signInBoundMs = Math.max(BOUNDS.signInP99Ms, 2 * ms(signIn("quiet").percentile(99)));
  row(
    "sign-in, connect to ticket, p99 (ms)",
    (p) => formatNumber(ms(signIn(p).percentile(99))),
    `< ${formatNumber(signInBoundMs)} ms (${BOUNDS.signInP99Ms} ms or twice the quiet p99)`,
    signInP99 < signInBoundMs,
  );
  row("message, send to the other member, p50 (ms)", (p) => formatNumber(ms(message(p).percentile(50))));
  const messageP99 = ms(message("attack").percentile(99));
  row(
    "message, send to the other member, p99 (ms)",
    (p) => formatNumber(ms(message(p).percentile(99))),
    `< ${BOUNDS.messageP99Ms} ms`,
    messageP99 < BOUNDS.messageP99Ms,
  );
  row("message, send to the host's OK, p99 (ms)", (p) => formatNumber(ms(messageOk(p).percentile(99))));
  row(
    "sign-ins done (ticks skipped: the last one still under way)",
    (p) => `${legit(p).signIns} (${legit(p).signInsSkipped})`,
  );
  row("messages received / sent", (p) => `${legit(p).messagesReceived} / ${legit(p).messagesSent}`);
  const clean = PHASES.every(
    (phase) =>
      Object.keys(legit(phase).failures).length === 0 &&
      legit(phase).signIns > 0 &&
      legit(phase).messagesReceived > 0,
  );
  row("legitimate requests refused or failed, messages lost", (p) => failuresOf(legit(p)), "none", clean);
  for (const [name, server, bound] of [
    ["tracker", figures.tracker, BOUNDS.trackerRssMB],
    ["host", figures.host, BOUNDS.hostRssMB],
  ] as const) {
    row(`${name} RSS, highest sample (MB)`, (p) => formatNumber(mb(server.phaseRssBytes[p])));
    const peak = mb(server.peakRssBytes);
    row(
      `${name} peak RSS over the whole run, setup included, VmHWM (MB)`,
      (p) => (p === "attack" ? formatNumber(peak) : ""),
      `< ${bound} MB`,
      peak < bound,
    );
  }
  for (const name of Object.keys(figures.cpu.attack ?? {})) {
    row(`CPU, ${name} (% of one core)`, (p) => formatNumber(figures.cpu[p]?.[name] ?? null));
  }
  row("legitimate clients' own event-loop delay, p99 (ms)", (p) =>
    formatNumber(ms(legit(p).eventLoopDelayP99Us)),
  );
  if (figures.attackerErrors.length > 0)
    failures.push(...figures.attackerErrors.map((error) => `attacker: ${error}`));

  const refused: Record<string, number> = {};
  const attackRows = figures.attacks.map((tally) => {
    const ok = tally.outcomes.OK ?? 0;
    const refusals = Object.fromEntries(Object.entries(tally.outcomes).filter(([code]) => code !== "OK"));
    for (const [code, count] of Object.entries(refusals)) refused[code] = (refused[code] ?? 0) + count;
    const held =
      tally.peakHeldBytes === undefined
        ? ""
        : ` (at most ${formatNumber(tally.peakHeldBytes / 1024)} KiB held)`;
    return [
      tally.attack + held,
      tally.target,
      tally.from,
      `${tally.sent.toLocaleString("en-US")} ${tally.unit}`,
      formatNumber(tally.sent / figures.attackSeconds),
      ok.toLocaleString("en-US"),
      countsText(refusals),
      countsText(tally.closes),
    ];
  });
  return {
    table: markdownTable(["figure", "quiet (no attack)", "under attack", "bound", "result"], rows),
    attackTable: markdownTable(
      [
        "attack",
        "on",
        "from",
        "sent",
        "per s",
        "OK / admitted",
        "refused, by code",
        "closed by the server, by code",
      ],
      attackRows,
    ),
    refusedByCode: countsText(refused),
    failures,
  };
}
