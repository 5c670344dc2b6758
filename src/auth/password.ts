import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

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
