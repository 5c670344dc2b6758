import { createReadStream, existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Where `vite build` put the page: `dist/gui/web`. Found from this file, which runs either as
 * `src/gui/static-files.ts` (under tsx) or as `dist/gui/static-files.js` (built).
 */
export function defaultStaticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Under src/ the sibling `web` directory holds the page's sources, never what is served.
  return import.meta.url.endsWith(".ts") ? resolve(here, "../../dist/gui/web") : join(here, "web");
}

export function isBuilt(staticDir: string): boolean {
  return existsSync(join(staticDir, "index.html"));
}

/**
 * The file a URL path names inside `root`, or `null` when the path is malformed or would leave
 * `root` (no directory traversal, no hidden files).
 */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const relative = decoded === "/" || decoded === "" ? "index.html" : decoded.replace(/^\/+/, "");
  if (relative.split("/").some((part) => part.startsWith("."))) return null;
  const base = resolve(root);
  const file = resolve(base, relative);
  return file.startsWith(base + sep) ? file : null;
}

/** Streams one file with its content type; answers 404 when it is missing or not a file. */
export async function serveFile(
  response: ServerResponse,
  file: string,
  headers: Record<string, string>,
  headOnly: boolean,
): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) {
    response.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8" });
    response.end("Not found\n");
    return;
  }
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
  // The page is small and every build renames its assets, so nothing needs caching across runs.
  response.writeHead(200, {
    ...headers,
    "Content-Type": type,
    "Content-Length": String(info.size),
    "Cache-Control": "no-cache",
  });
  if (headOnly) {
    response.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => response.destroy());
  stream.pipe(response);
}
