import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DeviceKey } from "../auth/device-key.js";
import { nowSeconds, type TicketPayload, ticketPayloadSchema } from "../auth/tickets.js";
import type { TrackerCredentials } from "../client/tracker-session.js";
import { wireError } from "../protocol/errors.js";
import { deviceIdSchema, isIssuableName, nameKey } from "../protocol/names.js";

/** Files of a peer's data dir: one directory per user, and the name of the last one signed in. */
export const SESSION_FILE = "session.json";
export const LAST_USER_FILE = "last-user";
export const CLIENT_DB_FILE = "client.db";
export const DEVICE_ID_FILE = "device-id";

const savedSessionSchema = z.object({
  username: z.string().min(1),
  role: z.enum(["user", "guest"]),
  ticket: z.string().min(1),
  expiresAt: z.string(),
  invisible: z.boolean(),
  /** The device key the ticket certifies (PKCS#8 PEM): without it the ticket is worth nothing. */
  key: z.string().min(1).max(4096),
  trackerKey: z
    .object({ publicKey: z.string().min(1).max(1024), issuer: z.string().min(1).max(256) })
    .nullable(),
});

/**
 * Where one user's state lives: `<dataDir>/<username lowercased>/`. Only for a name a tracker gives
 * out (`isIssuableName`), so it is one directory right inside `dataDir`, never `.`, `..` or a path;
 * any other name throws `INVALID_USERNAME`.
 */
export function userDir(dataDir: string, username: string): string {
  if (!isIssuableName(username)) {
    throw wireError("INVALID_USERNAME", `${JSON.stringify(username)} cannot name a user's directory`);
  }
  return join(dataDir, nameKey(username));
}

export function ensureUserDir(dataDir: string, username: string): string {
  const dir = userDir(dataDir, username);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Saves the ticket and its device key (mode 0600: they let anyone who reads them act as this user until revoked). */
export function saveSession(dir: string, credentials: TrackerCredentials): void {
  const file = join(dir, SESSION_FILE);
  const { username, role, ticket, expiresAt, invisible, trackerKey } = credentials;
  const saved = { username, role, ticket, expiresAt, invisible, key: credentials.key.toPem(), trackerKey };
  writeFileSync(file, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The saved session, or null when there is none or it cannot be read. */
export function loadSession(dir: string): TrackerCredentials | null {
  const file = join(dir, SESSION_FILE);
  if (!existsSync(file)) return null;
  try {
    const parsed = savedSessionSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (!parsed.success) return null;
    return { ...parsed.data, key: DeviceKey.fromPem(parsed.data.key) };
  } catch {
    return null;
  }
}

/**
 * The saved session as credentials to work with while the tracker is out of reach: only when its
 * ticket names the same user and has not expired. The signature is not checked here; hosts check
 * it on every `CONNECT`, and the tracker on the `RESUME` once it is back.
 */
export function offlineCredentials(
  saved: TrackerCredentials,
  now: number = nowSeconds(),
): TrackerCredentials | null {
  const payload = unverifiedTicketPayload(saved.ticket);
  if (
    payload === null ||
    payload.exp <= now ||
    nameKey(payload.sub) !== nameKey(saved.username) ||
    payload.key !== saved.key.publicKey
  ) {
    return null;
  }
  return {
    username: payload.sub,
    role: payload.role,
    ticket: saved.ticket,
    expiresAt: new Date(payload.exp * 1000).toISOString(),
    invisible: saved.invisible,
    key: saved.key,
    trackerKey: saved.trackerKey,
  };
}

/** The payload part of a ticket (`base64url(JSON).signature`), read without checking the signature. */
function unverifiedTicketPayload(ticket: string): TicketPayload | null {
  const encoded = ticket.split(".")[0] ?? "";
  try {
    const parsed = ticketPayloadSchema.safeParse(
      JSON.parse(Buffer.from(encoded, "base64url").toString("utf8")),
    );
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function deleteSession(dir: string): void {
  rmSync(join(dir, SESSION_FILE), { force: true });
}

/**
 * This data dir's device id (`device-id`), made on first use: the tracker keeps one key per user
 * and device, so signing in again here revokes what the last sign-in here was given.
 */
export function loadOrCreateDeviceId(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DEVICE_ID_FILE);
  if (existsSync(file)) {
    const id = readFileSync(file, "utf8").trim();
    if (deviceIdSchema.safeParse(id).success) return id;
  }
  const id = randomBytes(16).toString("base64url");
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

export function saveLastUser(dataDir: string, username: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, LAST_USER_FILE), `${username}\n`, { mode: 0o600 });
}

export function loadLastUser(dataDir: string): string | null {
  const file = join(dataDir, LAST_USER_FILE);
  if (!existsSync(file)) return null;
  const name = readFileSync(file, "utf8").trim();
  // The name becomes a directory name: accept only a name a tracker gives out.
  return isIssuableName(name) ? name : null;
}
