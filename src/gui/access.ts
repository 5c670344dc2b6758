import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may use a GUI server: only a page of this server's own origin, addressed by a loopback
 * name (no DNS rebinding), holding the per-run token from the printed URL or its cookie.
 */
export interface AccessPolicy {
  port: number;
  token: string;
}

export const TOKEN_QUERY = "token";

/** A fresh access token: 24 random bytes, base64url. */
export function newAccessToken(): string {
  return randomBytes(24).toString("base64url");
}

/** Cookies ignore ports, so each server's cookie carries its port to keep GUIs apart. */
export function tokenCookieName(port: number): string {
  return `hychat_gui_${port}`;
}

export function tokenCookie(policy: AccessPolicy): string {
  return `${tokenCookieName(policy.port)}=${policy.token}; HttpOnly; SameSite=Strict; Path=/`;
}

export type AccessCheck = { ok: true; tokenFromQuery: boolean } | { ok: false; reason: string };

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export function checkAccess(request: IncomingMessage, url: URL, policy: AccessPolicy): AccessCheck {
  const host = request.headers.host;
  if (host !== `127.0.0.1:${policy.port}` && host !== `localhost:${policy.port}`) {
    return { ok: false, reason: "Host header is not this server" };
  }
  const origin = request.headers.origin;
  // Browsers always send Origin on WebSocket and cross-site requests; it must be this very page's.
  if (origin !== undefined && origin !== `http://${host}`) {
    return { ok: false, reason: "Origin is not this server" };
  }
  const fromQuery = url.searchParams.get(TOKEN_QUERY);
  if (fromQuery !== null) {
    return sameToken(fromQuery, policy.token)
      ? { ok: true, tokenFromQuery: true }
      : { ok: false, reason: "wrong access token" };
  }
  const fromCookie = cookieValue(request.headers.cookie, tokenCookieName(policy.port));
  if (fromCookie !== undefined && sameToken(fromCookie, policy.token))
    return { ok: true, tokenFromQuery: false };
  return { ok: false, reason: "missing access token" };
}
