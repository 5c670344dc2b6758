/** What one attack sent and what came of it, as the attacker saw it. */
export interface AttackTally {
  /** The attack, as the table names it. */
  attack: string;
  target: "tracker" | "host";
  from: string;
  /** What `sent` counts: `connections` or a command's requests. */
  unit: string;
  sent: number;
  /** Each unit's outcome: `OK` (answered OK, or a connection admitted) or the code it was refused with. */
  outcomes: Record<string, number>;
  /** Connections the server closed during the run (not those still open at its end), by the code it gave. */
  closes: Record<string, number>;
  /** The most bytes this attack held at once in unfinished lines. */
  peakHeldBytes?: number;
}

/** A link closed with no `id: null` refusal before it (a heartbeat timeout, or a reset). */
export const CLOSED_WITHOUT_CODE = "no code";
/** A request whose link closed before it was answered. */
export const NO_ANSWER = "no answer (link closed)";

export class Tally {
  private readonly data: AttackTally;
  private heldBytes = 0;

  constructor(attack: string, target: "tracker" | "host", from: string, unit: string) {
    this.data = { attack, target, from, unit, sent: 0, outcomes: {}, closes: {} };
  }

  sent(): void {
    this.data.sent += 1;
  }

  outcome(code: string): void {
    this.data.outcomes[code] = (this.data.outcomes[code] ?? 0) + 1;
  }

  closed(code: string | undefined): void {
    const key = code ?? CLOSED_WITHOUT_CODE;
    this.data.closes[key] = (this.data.closes[key] ?? 0) + 1;
  }

  /** Bytes of unfinished lines written (positive) or given up with their link (negative). */
  held(delta: number): void {
    this.heldBytes += delta;
    this.data.peakHeldBytes = Math.max(this.data.peakHeldBytes ?? 0, this.heldBytes);
  }

  toJSON(): AttackTally {
    return this.data;
  }
}
