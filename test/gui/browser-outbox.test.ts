import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startTestTracker, type TestTracker } from "../helpers/tracker.js";
import {
  browserSkipReason,
  deliveredMessage,
  ensurePageBuilt,
  ensureScreenshotDir,
  joinChannel,
  launchBrowser,
  openGui,
  openPeer,
  removeDir,
  STEP_TIMEOUT_MS,
  screenshot,
  sendMessage,
  signUp,
  type TestPeer,
  tempDataDir,
} from "./browser-harness.js";

const PASSWORD = "correct horse battery";

describe("gui browser: outbox and access", { skip: browserSkipReason() }, () => {
  let tracker: TestTracker;
  let browser: Browser;
  let erin: TestPeer;
  let dave: TestPeer | undefined;
  let erinPage: Page;
  const daveDir = tempDataDir("dave");
  const erinDir = tempDataDir("erin");
  let foreign: Server | undefined;

  before(async () => {
    ensurePageBuilt();
    ensureScreenshotDir();
    tracker = await startTestTracker();
    browser = await launchBrowser();
    erin = await openPeer(tracker.address, erinDir, true);
    if (erin.gui === undefined) throw new Error("no GUI server");
    erinPage = (await openGui(browser, erin.gui)).page;
  });

  after(async () => {
    await browser?.close();
    await erin?.stop();
    await dave?.stop();
    await tracker?.close();
    await new Promise<void>((resolve) =>
      foreign === undefined ? resolve() : foreign.close(() => resolve()),
    );
    removeDir(daveDir);
    removeDir(erinDir);
  });

  test("gui - a message sent while the host is down shows as pending, then delivered", async () => {
    dave = await openPeer(tracker.address, daveDir, false);
    await dave.peer.signUp("dave", PASSWORD);
    await dave.peer.host("relay");

    await signUp(erinPage, "erin", PASSWORD);
    await joinChannel(erinPage, "relay");
    await sendMessage(erinPage, "relay", "before the outage");
    await deliveredMessage(erinPage, "relay", "before the outage").waitFor();

    await dave.stop();
    dave = undefined;
    await erinPage.getByText("#relay is unreachable right now").waitFor();
    await sendMessage(erinPage, "relay", "while you were away");
    const pending = erinPage.locator("li.message.pending", { hasText: "while you were away" });
    await pending.waitFor();
    assert.match((await pending.textContent()) ?? "", /pending: not delivered yet/);
    await screenshot(erinPage, "chat-pending");

    // The owner's peer restarts on the same data: its channel comes back and the outbox drains.
    dave = await openPeer(tracker.address, daveDir, false);
    assert.equal((await dave.peer.resume("dave"))?.username, "dave");
    await deliveredMessage(erinPage, "relay", "while you were away").waitFor();
    await pending.waitFor({ state: "detached" });
    await erinPage.getByText("#relay is unreachable right now").waitFor({ state: "detached" });
    const history = await dave.peer.join("relay").then(() => dave?.peer.history("relay", { before: 100 }));
    assert.deepEqual(
      history?.messages.map((message) => message.text),
      ["before the outage", "while you were away"],
    );
  });

  test("gui - a message written before joining waits, can be cancelled, and the rest goes out on join", async () => {
    const owner = dave?.peer;
    if (owner === undefined) throw new Error("dave is not running");
    await owner.host("later");
    await erinPage.getByRole("button", { name: "Channel directory" }).click();
    await erinPage.getByRole("button", { name: "Write to #later before joining" }).click();
    await sendMessage(erinPage, "later", "keep this");
    await sendMessage(erinPage, "later", "cancel this");
    const waiting = erinPage.getByRole("region", { name: "Waiting for you to join" });
    await waiting.locator("li", { hasText: "keep this" }).waitFor();
    await waiting.locator("li", { hasText: "cancel this" }).waitFor();
    await screenshot(erinPage, "directory-pending");
    await erinPage.getByRole("button", { name: "Cancel pending message: cancel this" }).click();
    await waiting.locator("li", { hasText: "cancel this" }).waitFor({ state: "detached" });
    assert.deepEqual(
      erin.peer.outbox().map((entry) => entry.text),
      ["keep this"],
    );

    await erinPage.getByRole("button", { name: "Join #later" }).click();
    await deliveredMessage(erinPage, "later", "keep this").waitFor();
    await waiting.waitFor({ state: "detached" });
    const history = await owner.history("later", { before: 100 });
    assert.deepEqual(
      history.messages.map((message) => [message.from, message.text]),
      [["erin", "keep this"]],
    );
  });

  test("gui - older history loads when scrolling to the top", async () => {
    const owner = dave?.peer;
    if (owner === undefined) throw new Error("dave is not running");
    await owner.host("archive");
    for (let i = 1; i <= 60; i += 1) await owner.send("archive", `archived ${i}`);
    await joinChannel(erinPage, "archive");
    const log = erinPage.getByRole("log", { name: "#archive messages" });
    await deliveredMessage(erinPage, "archive", "archived 60").waitFor();
    assert.equal(await log.getByText("archived 1", { exact: true }).count(), 0);
    await erinPage.locator(".messages-scroller").evaluate((element) => {
      element.scrollTop = 0;
    });
    await log.getByText("archived 1", { exact: true }).waitFor();
    assert.equal(await log.locator("li.message").count(), 60);
    await erinPage.getByRole("button", { name: "Load older messages" }).waitFor({ state: "detached" });
  });

  test("gui - the page works at phone width", async () => {
    await erinPage.getByRole("button", { name: /^#relay/ }).click();
    await erinPage.setViewportSize({ width: 390, height: 844 });
    await erinPage.getByLabel("Message #relay").waitFor();
    assert.equal(await erinPage.getByRole("navigation", { name: "Channels" }).isVisible(), false);
    await screenshot(erinPage, "phone-chat");
    await erinPage.getByRole("button", { name: "Menu" }).click();
    await erinPage.getByRole("navigation", { name: "Channels" }).waitFor();
    await screenshot(erinPage, "phone-menu");
    await erinPage.getByRole("button", { name: "Channel directory" }).click();
    await erinPage.getByRole("heading", { level: 1, name: "Channel directory" }).waitFor();
    // Each channel's row fits the screen, its details and its button in view.
    const row = erinPage.locator("tr[data-channel=archive]");
    for (const part of [
      row.locator("td[data-label=Members]"),
      row.getByRole("button", { name: "Open #archive" }),
    ]) {
      const box = await part.boundingBox();
      assert.ok(box !== null && box.x + box.width <= 390, "the row's details and button are on screen");
    }
    await screenshot(erinPage, "phone-directory");
    await erinPage.setViewportSize({ width: 1280, height: 800 });
  });

  test("gui - a request without the access token is refused with 403", async () => {
    if (erin.gui === undefined) throw new Error("no GUI server");
    const { origin } = new URL(erin.gui.url);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const response = await page.goto(`${origin}/`, { timeout: STEP_TIMEOUT_MS });
      assert.equal(response?.status(), 403);
      assert.match((await page.textContent("body")) ?? "", /Forbidden: this page needs the access token/);
    } finally {
      await context.close();
    }
  });

  test("gui - a page from a foreign origin cannot open the bridge, even knowing the token", async () => {
    if (erin.gui === undefined) throw new Error("no GUI server");
    const gui = new URL(erin.gui.url);
    const bridge = `ws://127.0.0.1:${gui.port}/ws?token=${gui.searchParams.get("token")}`;
    foreign = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>elsewhere</title>");
    });
    await new Promise<void>((resolve) => foreign?.listen(0, "127.0.0.1", resolve));
    const port = (foreign.address() as AddressInfo).port;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${port}/`);
      const outcome = await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url);
            socket.onopen = () => {
              socket.close();
              resolve("open");
            };
            socket.onclose = () => resolve("refused");
          }),
        bridge,
      );
      assert.equal(outcome, "refused");
    } finally {
      await context.close();
    }
  });
});
