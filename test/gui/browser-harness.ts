import { execFileSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type GuiServer, startGuiServer } from "../../src/gui/server.js";
import { defaultStaticDir, isBuilt } from "../../src/gui/static-files.js";
import { Peer, type PeerOptions } from "../../src/peer/peer.js";
import type { Address } from "../../src/protocol/tracker-schemas.js";
import { silentLogger } from "../../src/util/logger.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-output", "screenshots");

/** How long a browser step waits for what it expects (the machine is shared and busy). */
export const STEP_TIMEOUT_MS = 30_000;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** The absolute path of `chromium` on PATH, or null. Playwright is never allowed to download one. */
export function findChromium(): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || !isAbsolute(dir)) continue;
    const candidate = join(dir, "chromium");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Why the browser tests cannot run here, or false. Without chromium they are skipped, except on
 * CI where a missing browser is a failure (the tests then run and fail at launch).
 */
export function browserSkipReason(): string | false {
  if (findChromium() !== null || process.env.CI === "true") return false;
  return "chromium is not on PATH (install it, e.g. apt-get install chromium; CI=true makes this a failure)";
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  if (executablePath === null)
    throw new Error("chromium is not on PATH; CI=true requires the browser tests to run");
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/** The newest modification time of the page's sources (the web directory and the shared schemas). */
function newestSourceMs(): number {
  const sources = [join(REPO_ROOT, "src", "gui", "messages.ts")];
  for (const entry of readdirSync(join(REPO_ROOT, "src", "gui", "web"), {
    recursive: true,
    withFileTypes: true,
  })) {
    if (entry.isFile()) sources.push(join(entry.parentPath, entry.name));
  }
  return Math.max(...sources.map((file) => statSync(file).mtimeMs));
}

/** Builds the page with Vite when `dist/gui/web` is missing or older than its sources. */
export function ensurePageBuilt(): void {
  const staticDir = defaultStaticDir();
  if (isBuilt(staticDir) && statSync(join(staticDir, "index.html")).mtimeMs >= newestSourceMs()) return;
  execFileSync(join(REPO_ROOT, "node_modules", ".bin", "vite"), ["build", "--logLevel", "warn"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
}

export function ensureScreenshotDir(): void {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}

/** A peer in this process, with its GUI server, on a data dir of its own. */
export interface TestPeer {
  peer: Peer;
  gui: GuiServer | undefined;
  dataDir: string;
  /** Stops the GUI server and the peer (the data dir stays, so it can be reopened). */
  stop(): Promise<void>;
}

export const FAST_BACKOFF = { initialMs: 50, maxMs: 500 };

export async function openPeer(
  tracker: Address,
  dataDir: string,
  withGui: boolean,
  options: Partial<PeerOptions> = {},
): Promise<TestPeer> {
  const peer = await Peer.open({ tracker, dataDir, backoff: FAST_BACKOFF, logger: silentLogger, ...options });
  let gui: GuiServer | undefined;
  try {
    gui = withGui ? await startGuiServer({ peer, logger: silentLogger }) : undefined;
  } catch (error) {
    await peer.close();
    throw error;
  }
  return {
    peer,
    gui,
    dataDir,
    async stop() {
      await gui?.close();
      await peer.close();
    },
  };
}

export function tempDataDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `hychat-gui-${name}-`));
}

export function removeDir(dir: string): void {
  rmSync(resolve(dir), { recursive: true, force: true });
}

/** A fresh browser context (its own cookies) with the peer's GUI open at laptop width. */
export async function openGui(
  browser: Browser,
  gui: GuiServer,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  await page.goto(gui.url);
  return { context, page };
}

export async function signUp(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.locator(".whoami", { hasText: username }).waitFor();
}

export async function hostChannel(
  page: Page,
  channel: string,
  options: { moderated?: boolean } = {},
): Promise<void> {
  await page.getByRole("button", { name: "Channel directory" }).click();
  await page.getByLabel("Channel name").fill(channel);
  if (options.moderated === true) await page.getByLabel(/^Moderated/).check();
  await page.getByRole("button", { name: "Host channel" }).click();
  await page.getByRole("heading", { level: 1, name: `#${channel}` }).waitFor();
}

export async function joinChannel(page: Page, channel: string): Promise<void> {
  await page.getByRole("button", { name: "Channel directory" }).click();
  await page.getByRole("button", { name: `Join #${channel}` }).click();
  await page.getByRole("heading", { level: 1, name: `#${channel}` }).waitFor();
}

export async function sendMessage(page: Page, channel: string, text: string): Promise<void> {
  const composer = page.getByLabel(`Message #${channel}`);
  await composer.fill(text);
  await composer.press("Enter");
}

/** The delivered (not pending) message in the open channel's log with this text. */
export function deliveredMessage(page: Page, channel: string, text: string) {
  return page
    .getByRole("log", { name: `#${channel} messages` })
    .locator("li.message:not(.pending)", { hasText: text });
}

export function alertWith(page: Page, text: string | RegExp) {
  return page.getByRole("alert").locator("li", { hasText: text });
}
