import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { wireError } from "../protocol/errors.js";

/** scrypt cost parameters. `logN` is the log2 of N; the shipped default is N = 2^17. */
export interface PasswordHashOptions {
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_PASSWORD_HASH: PasswordHashOptions = { logN: 17, r: 8, p: 1 };
export const MIN_PASSWORD_LENGTH = 8;

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function scryptAsync(password: string, salt: Buffer, options: PasswordHashOptions): Promise<Buffer> {
  const N = 2 ** options.logN;
  // scrypt needs 128 * N * r bytes; leave headroom so a large N does not fail on memory.
  const maxmem = 256 * N * options.r;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r: options.r, p: options.p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** Returns `scrypt$logN$r$p$salt$hash` (base64url parts): the parameters live with the hash. */
export async function hashPassword(
  password: string,
  options: PasswordHashOptions = DEFAULT_PASSWORD_HASH,
): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(password, salt, options);
  return [
    "scrypt",
    options.logN,
    options.r,
    options.p,
    salt.toString("base64url"),
    key.toString("base64url"),
  ].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, logN, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, "base64url");
  const key = await scryptAsync(password, Buffer.from(salt, "base64url"), {
    logN: Number(logN),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * Which queue a password job waits in, first served first: sign-ins from an address with no
 * recent failure (`trusted`), other sign-ins, then sign-ups. A guesser's attempts then never hold
 * up the owner's sign-in from an address that has not failed.
 */
export type PasswordJobPriority = "trusted" | "signin" | "signup";

export interface PasswordHashQueueLimits {
  /** scrypt runs at once (each holds 128·N·r bytes, 128 MiB at the shipped cost, and a libuv pool thread). */
  concurrency: number;
  /** Jobs waiting for a turn, sign-ins and sign-ups together; 0 = none waits. */
  maxQueued: number;
}

export const DEFAULT_PASSWORD_HASH_QUEUE: PasswordHashQueueLimits = { concurrency: 2, maxQueued: 32 };
/** The retry hint of a `BUSY` answer. */
export const PASSWORD_QUEUE_RETRY_MS = 1_000;

interface QueuedJob {
  start(): void;
  shed(): void;
}

function busy() {
  return wireError("BUSY", "the tracker is busy checking passwords; try again shortly", {
    retryAfterMs: PASSWORD_QUEUE_RETRY_MS,
  });
}

/**
 * Runs password hashing and checking at most `concurrency` at a time, with at most `maxQueued`
 * jobs waiting, so a burst of requests can neither take the memory scrypt needs many times over
 * nor starve libuv's pool, which file I/O shares. A waiting sign-in starts before any waiting
 * sign-up, and sign-ups keep one run free for sign-ins; a sign-in that finds the queue full takes
 * the place of the newest waiting sign-up.
 * What finds no place is refused at once with `SERVER_ERROR` `BUSY` (`retryAfterMs`).
 */
export class PasswordHashQueue {
  private running = 0;
  private runningSignups = 0;
  private readonly waiting: Record<PasswordJobPriority, QueuedJob[]> = {
    trusted: [],
    signin: [],
    signup: [],
  };

  constructor(private readonly limits: PasswordHashQueueLimits = DEFAULT_PASSWORD_HASH_QUEUE) {}

  /** `hashPassword`, as a sign-up's job. */
  hash(password: string, options: PasswordHashOptions): Promise<string> {
    return this.run("signup", () => hashPassword(password, options));
  }

  /** `verifyPassword`, as a sign-in's job (`trusted`: from an address with no recent failure). */
  verify(password: string, stored: string, trusted = false): Promise<boolean> {
    return this.run(trusted ? "trusted" : "signin", () => verifyPassword(password, stored));
  }

  /** Jobs waiting for a turn. */
  get queued(): number {
    return this.waiting.trusted.length + this.waiting.signin.length + this.waiting.signup.length;
  }

  /** Runs `work` as a job of `priority` once it has a turn; rejects with `BUSY` when it finds no place. */
  run<T>(priority: PasswordJobPriority, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signup = priority === "signup";
      const job: QueuedJob = {
        start: () => {
          this.running += 1;
          if (signup) this.runningSignups += 1;
          // The next job starts before this one's caller hears of the outcome.
          new Promise<T>((settle) => settle(work()))
            .finally(() => {
              this.running -= 1;
              if (signup) this.runningSignups -= 1;
              this.startNext();
            })
            .then(resolve, reject);
        },
        shed: () => reject(busy()),
      };
      if (this.hasTurn(signup)) {
        job.start();
        return;
      }
      if (this.queued >= this.limits.maxQueued) {
        const displaced =
          priority === "signup"
            ? undefined
            : (this.waiting.signup.pop() ?? (priority === "trusted" ? this.waiting.signin.pop() : undefined));
        if (displaced === undefined) {
          job.shed();
          return;
        }
        displaced.shed();
      }
      this.waiting[priority].push(job);
    });
  }

  /**
   * A free run, for a sign-in; a sign-up also leaves one run to sign-ins (with a concurrency of 2
   * or more), so a flood of sign-ups never makes a sign-in wait for a whole hash.
   */
  private hasTurn(signup: boolean): boolean {
    const concurrency = Math.max(1, this.limits.concurrency);
    if (this.running >= concurrency) return false;
    return !signup || this.runningSignups < Math.max(1, concurrency - 1);
  }

  private startNext(): void {
    if (!this.hasTurn(false)) return;
    const next =
      this.waiting.trusted.shift() ??
      this.waiting.signin.shift() ??
      (this.hasTurn(true) ? this.waiting.signup.shift() : undefined);
    next?.start();
  }
}
