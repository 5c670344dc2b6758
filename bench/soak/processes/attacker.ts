/**
 * An attacker process of `npm run soak`: runs the attacks it is given (bench/soak/attacks.ts)
 * between `start` and `stop`, and answers with what each sent and what came of it.
 */
import { processStats, serveParent } from "../../lib/child.js";
import { withDeadline } from "../../lib/deadline.js";
import {
  AttackRun,
  type AttackTargets,
  cacheFlood,
  connectionFlood,
  guestFlood,
  hostFlood,
  PARTIAL_LINES,
  SLOW_DRIPS,
  signupFlood,
  unfinishedLines,
  wrongPasswords,
} from "../attacks.js";
import { ADDRESSES, RATES } from "../plan.js";
import type { AttackTally } from "../tally.js";

export type AttackName =
  | "partialLines"
  | "slowDrips"
  | "connectionFlood"
  | "guests"
  | "signups"
  | "wrongPasswords"
  | "hostFlood"
  | "cacheFlood";

export interface Account {
  username: string;
  password: string;
}

export interface AttackerConfig {
  attacks: AttackName[];
  targets: AttackTargets;
  /** Whose name the wrong passwords are tried against. */
  victim: string;
  hostFloodAccounts: Account[];
  cacheFloodAccount: Account;
  /** Scales every offered rate of plan.ts. */
  intensity: number;
}

export interface AttackerResult {
  tallies: AttackTally[];
  errors: string[];
}

let run: AttackRun | undefined;

/** Registers the attacks; those of signed-in users sign in (and join) now, before the clock starts. */
async function setup(config: AttackerConfig): Promise<void> {
  const current = new AttackRun();
  run = current;
  const { tracker, host } = config.targets;
  const rate = (perSecond: number): number => perSecond * config.intensity;
  const prepared: Promise<boolean>[] = [];
  for (const attack of config.attacks) {
    switch (attack) {
      case "partialLines":
        unfinishedLines(current, PARTIAL_LINES, "tracker", tracker, ADDRESSES.partialLines);
        unfinishedLines(current, PARTIAL_LINES, "host", host, ADDRESSES.partialLines);
        break;
      case "slowDrips":
        unfinishedLines(current, SLOW_DRIPS, "tracker", tracker, ADDRESSES.slowDrips);
        unfinishedLines(current, SLOW_DRIPS, "host", host, ADDRESSES.slowDrips);
        break;
      case "connectionFlood":
        connectionFlood(
          current,
          "tracker",
          tracker,
          ADDRESSES.connectionFlood,
          rate(RATES.connectionsPerSecond),
        );
        connectionFlood(current, "host", host, ADDRESSES.connectionFlood, rate(RATES.connectionsPerSecond));
        break;
      case "guests":
        guestFlood(current, config.targets, ADDRESSES.guests, rate(RATES.guestsPerSecond));
        break;
      case "signups":
        for (const from of ADDRESSES.credentials)
          signupFlood(current, tracker, from, rate(RATES.signupsPerSecond));
        break;
      case "wrongPasswords":
        for (const from of ADDRESSES.credentials)
          wrongPasswords(current, tracker, from, config.victim, rate(RATES.wrongPasswordsPerSecond));
        break;
      case "hostFlood":
        for (const account of config.hostFloodAccounts)
          prepared.push(
            hostFlood(current, tracker, ADDRESSES.signedIn, account, rate(RATES.hostsPerSecond))(),
          );
        break;
      case "cacheFlood":
        prepared.push(
          cacheFlood(
            current,
            config.targets,
            ADDRESSES.signedIn,
            config.cacheFloodAccount,
            rate(RATES.cachesPerSecond),
          )(),
        );
        break;
    }
  }
  const ready = await Promise.all(prepared);
  if (ready.includes(false)) throw new Error("a signed-in attacker could not sign in or join");
}

function started(): AttackRun {
  if (run === undefined) throw new Error("setup first");
  return run;
}

const parent = serveParent({
  setup,
  start: () => started().start(),
  stop: async (): Promise<AttackerResult> => {
    const current = started();
    const tallies = await withDeadline(current.stop(), 30_000, "the attacks' stop");
    return { tallies, errors: current.errors };
  },
  stats: processStats,
  close: async () => {
    await run?.stop();
  },
});
parent.ready({});
