import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startTestTracker, type TestTracker } from "../helpers/tracker.js";
import {
  alertWith,
  browserSkipReason,
  deliveredMessage,
  ensurePageBuilt,
  ensureScreenshotDir,
  hostChannel,
  joinChannel,
  launchBrowser,
  openGui,
  openPeer,
  removeDir,
  screenshot,
  sendMessage,
  signUp,
  type TestPeer,
  tempDataDir,
} from "./browser-harness.js";

const PASSWORD = "correct horse battery";

describe("gui browser: chat", { skip: browserSkipReason() }, () => {
  let tracker: TestTracker;
  let browser: Browser;
  const peers: TestPeer[] = [];
  const dirs: string[] = [];
  let alice: Page;
  let bob: Page;
  let carol: Page;

  async function guiPeer(name: string): Promise<Page> {
    const dir = tempDataDir(name);
    dirs.push(dir);
    const peer = await openPeer(tracker.address, dir, true);
    peers.push(peer);
    if (peer.gui === undefined) throw new Error("no GUI server");
    return (await openGui(browser, peer.gui)).page;
  }

  before(async () => {
    ensurePageBuilt();
    ensureScreenshotDir();
    tracker = await startTestTracker();
    browser = await launchBrowser();
    alice = await guiPeer("alice");
    bob = await guiPeer("bob");
    carol = await guiPeer("carol");
  });

  after(async () => {
    await browser?.close();
    for (const peer of peers) await peer.stop();
    await tracker?.close();
    for (const dir of dirs) removeDir(dir);
  });

  test("gui - two users in two browsers chat live", async () => {
    await alice.getByRole("heading", { name: "Welcome to hychat" }).waitFor();
    await screenshot(alice, "sign-in");
    await signUp(alice, "alice", PASSWORD);
    await hostChannel(alice, "lobby");

    await signUp(bob, "bob", PASSWORD);
    const row = bob.locator("tr[data-channel=lobby]");
    await row.getByText("Online").waitFor();
    assert.deepEqual(await row.locator("td").allTextContents(), [
      "alice",
      "Public",
      "No",
      "Online",
      "1",
      // Join, and Write to send before joining.
      "JoinWrite",
    ]);
    await screenshot(bob, "directory");
    await joinChannel(bob, "lobby");

    await bob.getByRole("list", { name: "Online members" }).getByText("alice").waitFor();
    await alice.getByRole("list", { name: "Online members" }).getByText("bob").waitFor();

    await sendMessage(bob, "lobby", "hello alice");
    await deliveredMessage(alice, "lobby", "hello alice").waitFor();

    // Shift+Enter adds a line; Enter sends.
    const composer = alice.getByLabel("Message #lobby");
    await composer.fill("hi bob");
    await composer.press("Shift+Enter");
    await composer.pressSequentially("second line");
    await composer.press("Enter");
    const reply = deliveredMessage(bob, "lobby", "second line");
    await reply.waitFor();
    assert.equal(await reply.locator(".text").textContent(), "hi bob\nsecond line");
    assert.equal(await deliveredMessage(alice, "lobby", "second line").getAttribute("class"), "message own");
    await screenshot(bob, "chat");

    // Messages typed quickly, one Enter after the other, all go out in order.
    for (const text of ["quick one", "quick two", "quick three"]) await sendMessage(alice, "lobby", text);
    await deliveredMessage(bob, "lobby", "quick three").waitFor();
    const texts = await bob.getByRole("log", { name: "#lobby messages" }).locator(".text").allTextContents();
    assert.deepEqual(texts.slice(-3), ["quick one", "quick two", "quick three"]);

    // A message to a channel not on screen counts as unread in the sidebar.
    await alice.getByRole("button", { name: "Channel directory" }).click();
    await sendMessage(bob, "lobby", "are you there?");
    await alice.getByRole("button", { name: "#lobby, 1 unread" }).click();
    await deliveredMessage(alice, "lobby", "are you there?").waitFor();
    await alice.getByRole("button", { name: "#lobby", exact: true }).waitFor();
  });

  test("gui - a channel joined again shows its recent history", async () => {
    await bob.getByRole("button", { name: "Leave" }).click();
    await bob.getByRole("heading", { level: 1, name: "Channel directory" }).waitFor();
    await joinChannel(bob, "lobby");
    await deliveredMessage(bob, "lobby", "hello alice").waitFor();
    await deliveredMessage(bob, "lobby", "quick three").waitFor();
  });

  test("gui - a guest can read but not send", async () => {
    await carol.getByLabel("Guest name (optional)").fill("carol");
    await carol.getByRole("button", { name: "Enter as guest" }).click();
    await carol.locator(".whoami", { hasText: "guest-carol" }).waitFor();
    await carol.getByText("Guests cannot host channels").waitFor();
    await joinChannel(carol, "lobby");
    await deliveredMessage(carol, "lobby", "hello alice").waitFor();
    assert.equal(await carol.getByLabel("Message #lobby").isDisabled(), true);
    await carol.getByText("Guests can read but not send messages.").first().waitFor();
    await sendMessage(bob, "lobby", "guests see this live");
    await deliveredMessage(carol, "lobby", "guests see this live").waitFor();
  });

  test("gui - in a moderated channel only authorized users send", async () => {
    await hostChannel(alice, "news", { moderated: true });
    await joinChannel(bob, "news");
    await sendMessage(bob, "news", "may I speak?");
    await alertWith(bob, "NOT_AUTHORIZED").first().waitFor();
    // The refused message leaves no pending entry behind, and its text is back in the box.
    await bob.locator("li.message.pending").waitFor({ state: "detached" });
    assert.equal(await bob.getByLabel("Message #news").inputValue(), "may I speak?");
    // One error for one refused message: the peer told all it had to before the send failed.
    assert.equal(await alertWith(bob, "NOT_AUTHORIZED").count(), 1);

    await alice.getByRole("button", { name: "Settings", exact: true }).click();
    await alice.getByRole("heading", { name: "Settings for #news" }).waitFor();
    await alice.getByLabel("Username", { exact: true }).fill("bob");
    await alice.getByRole("button", { name: "Authorize", exact: true }).click();
    await alice.getByRole("list", { name: "Authorized users" }).getByText("bob").waitFor();
    await alice.locator(".info-list").getByText("bob").first().waitFor();
    await screenshot(alice, "settings");

    await sendMessage(bob, "news", "thank you for the floor");
    await alice.getByRole("button", { name: /^#news/ }).click();
    await deliveredMessage(alice, "news", "thank you for the floor").waitFor();
  });

  test("gui - making a channel private removes users who may not see it", async () => {
    await bob.getByRole("button", { name: /^#lobby/ }).click();
    await alice.getByRole("button", { name: "Settings for #lobby" }).click();
    await alice.getByLabel(/^Private: only you/).check();
    await alice.getByRole("button", { name: "Save settings" }).click();
    await alertWith(alice, "#lobby is now private").waitFor();

    await alertWith(bob, "#lobby is now private: you were removed").waitFor();
    await bob.getByRole("heading", { level: 1, name: "Channel directory" }).waitFor();
    assert.equal(await bob.getByRole("button", { name: /^#lobby/ }).count(), 0);
    await bob.locator("tr[data-channel=lobby]").getByText("Private").waitFor();
    // bob is authorized in #news, which stays joined.
    await bob.getByRole("button", { name: /^#news/ }).waitFor();
  });

  test("gui - going invisible hides a user from members, and signing out returns to the start", async () => {
    await alice.getByRole("button", { name: /^#news/ }).click();
    await bob.getByRole("button", { name: /^#news/ }).click();
    const bobListed = alice.getByRole("list", { name: "Online members" }).getByText("bob", { exact: true });
    await bobListed.waitFor();
    await bob.getByLabel("Invisible").check();
    await bob.getByText("You are invisible").waitFor();
    await bobListed.waitFor({ state: "detached" });
    await bob.getByLabel("Invisible").uncheck();
    await bobListed.waitFor();

    await carol.getByRole("button", { name: "Sign out" }).click();
    await carol.getByRole("heading", { name: "Welcome to hychat" }).waitFor();
  });
});
