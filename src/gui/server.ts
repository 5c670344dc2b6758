import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { PeerApi } from "../api/index.js";
import type { Logger } from "../util/logger.js";
import { silentLogger } from "../util/logger.js";
import { type AccessPolicy, checkAccess, newAccessToken, TOKEN_QUERY, tokenCookie } from "./access.js";
import { type BridgeOptions, BridgeSession } from "./bridge.js";
import { BRIDGE_PATH } from "./messages.js";
import { defaultStaticDir, isBuilt, resolveStaticPath, serveFile } from "./static-files.js";

export interface GuiServerOptions {
  peer: PeerApi;
  /** Port on 127.0.0.1 (default 0: the OS picks one). */
  port?: number;
  logger?: Logger;
  /** Directory of the built page (default: `dist/gui/web` of this package). */
  staticDir?: string;
  /** Largest WebSocket message a page may send, in bytes (default 256 KiB). */
  maxMessageBytes?: number;
  /** How long `close` lets pages finish the closing handshake before dropping them (default 1 s). */
  closeGraceMs?: number;
  bridge?: Omit<BridgeOptions, "logger">;
}

export interface GuiServer {
  /** The address to open, with the access token: `http://127.0.0.1:PORT/?token=...`. */
  url: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
const DEFAULT_CLOSE_GRACE_MS = 1_000;

function securityHeaders(port: number): Record<string, string> {
  const sockets = `ws://127.0.0.1:${port} ws://localhost:${port}`;
  return {
    "Content-Security-Policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "font-src 'self'",
      `connect-src 'self' ${sockets}`,
      "manifest-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
}

function plain(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string>,
): void {
  response.writeHead(status, {
    ...headers,
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-store",
  });
  response.end(`${text}\n`);
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/**
 * Serves the GUI page and its WebSocket bridge to the user's own peer on 127.0.0.1 only.
 * Every request must carry the per-run access token and come from this server's own origin.
 */
export async function startGuiServer(options: GuiServerOptions): Promise<GuiServer> {
  const logger = options.logger ?? silentLogger;
  const staticDir = options.staticDir ?? defaultStaticDir();
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const policy: AccessPolicy = { port: 0, token: newAccessToken() };
  const sessions = new Set<BridgeSession>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  });
  let headers: Record<string, string> = {};

  if (!isBuilt(staticDir)) logger.warn({ staticDir }, "the GUI page is not built: run `npm run build`");

  function handleRequest(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const access = checkAccess(request, url, policy);
    if (!access.ok) {
      logger.debug({ reason: access.reason, path: url.pathname }, "gui request refused");
      plain(
        response,
        403,
        "Forbidden: this page needs the access token. Open the whole address hychat printed when it " +
          "started (gui at http://127.0.0.1:PORT/?token=...); each start makes a new one.",
        headers,
      );
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      plain(response, 405, "Method not allowed", { ...headers, Allow: "GET, HEAD" });
      return;
    }
    if (access.tokenFromQuery) {
      // Keep the token out of the address bar and history: it lives on in an HttpOnly cookie.
      url.searchParams.delete(TOKEN_QUERY);
      response.writeHead(303, {
        ...headers,
        "Set-Cookie": tokenCookie(policy),
        Location: `${url.pathname}${url.search}`,
        "Cache-Control": "no-store",
      });
      response.end();
      return;
    }
    if (url.pathname === BRIDGE_PATH) {
      plain(response, 426, "Upgrade required", headers);
      return;
    }
    if (!isBuilt(staticDir)) {
      plain(response, 503, "The hychat GUI is not built: run `npm run build`.", headers);
      return;
    }
    const file = resolveStaticPath(staticDir, url.pathname);
    if (file === null) {
      plain(response, 404, "Not found", headers);
      return;
    }
    serveFile(response, file, headers, request.method === "HEAD").catch((error: unknown) => {
      logger.warn({ err: error, file }, "gui could not serve a file");
      if (!response.headersSent) plain(response, 500, "Internal error", headers);
      else response.destroy();
    });
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const access = checkAccess(request, url, policy);
    if (!access.ok) {
      logger.debug({ reason: access.reason }, "gui websocket refused");
      refuseUpgrade(socket, "403 Forbidden");
      return;
    }
    if (url.pathname !== BRIDGE_PATH) {
      refuseUpgrade(socket, "404 Not Found");
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new BridgeSession(ws, options.peer, { ...options.bridge, logger });
      sessions.add(session);
      ws.on("close", () => sessions.delete(session));
    });
  }

  const server = createServer(handleRequest);
  server.on("upgrade", handleUpgrade);
  server.on("clientError", (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  policy.port = (server.address() as AddressInfo).port;
  headers = securityHeaders(policy.port);
  const url = `http://127.0.0.1:${policy.port}/?${TOKEN_QUERY}=${policy.token}`;
  logger.debug({ port: policy.port }, "gui listening");

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    for (const session of sessions) session.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (wss.clients.size > 0) {
      // Pages get a moment to answer the closing handshake, then are dropped.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, closeGraceMs);
        const check = (): void => {
          if (wss.clients.size > 0) return;
          clearTimeout(timer);
          resolve();
        };
        for (const client of wss.clients) client.once("close", check);
        check();
      });
      for (const client of wss.clients) client.terminate();
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await closed;
  }

  return {
    url,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
