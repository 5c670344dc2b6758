import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { CliProcess } from "../cli/cli-process.js";
import {
  browserSkipReason,
  deliveredMessage,
  ensurePageBuilt,
  launchBrowser,
  STEP_TIMEOUT_MS,
  screenshot,
} from "./browser-harness.js";

const HOME = mkdtempSync(join(tmpdir(), "hychat-stopped-host-"));
const ENV = { HYCHAT_HOME: HOME, HYCHAT_TEST_PASSWORD: "correct horse battery" };
/** Short heartbeats, so a dead link is found in about a second instead of the default 40 s. */
const HEARTBEAT_MS = "250";
const TEXT = "sent while the host was stopped";

/**
 * A hosting peer that stops (SIGSTOP: a laptop asleep, a NAT mapping gone) keeps its sockets open
 * and answers nothing. Only heartbeats find that out: the member's CLI and GUI must show the channel
 * unreachable, keep what is sent meanwhile, and deliver it once after SIGCONT.
 */
describe("stopped host", { skip: browserSkipReason() }, () => {
  const children: CliProcess[] = [];
  let host: CliProcess | undefined;
  let browser: Browser | undefined;

  function hychat(...args: string[]): CliProcess {
    const child = new CliProcess(args, ENV);
    children.push(child);
    return child;
  }

  before(() => ensurePageBuilt());

  after(async () => {
    // A stopped child would not die of SIGKILL until continued on some systems: continue it first.
    host?.child.kill("SIGCONT");
    await browser?.close();
    await Promise.all(children.map((child) => child.kill()));
    rmSync(HOME, { recursive: true, force: true });
  });

  test("heartbeat - a member's CLI and GUI see a stopped host unreachable; a message sent meanwhile arrives once after SIGCONT", async () => {
    const tracker = hychat(
      "tracker",
      "--port",
      "0",
      "--password-cost",
      "10",
      "--heartbeat-interval",
      HEARTBEAT_MS,
    );
    const [, trackerAddress = ""] = await tracker.waitForLine(/^listening on (127\.0\.0\.1:\d+)$/);
    const peer = (username: string, ...extra: string[]) =>
      hychat(
        "peer",
        "--tracker",
        trackerAddress,
        "--username",
        username,
        "--password-env",
        "HYCHAT_TEST_PASSWORD",
        "--signup",
        "--data-dir",
        join(HOME, username),
        "--heartbeat-interval",
        HEARTBEAT_MS,
        ...extra,
      );
    host = peer("hana", "--channel-name", "napping", "--headless");
    await host.waitForLine(/^hosting napping on 127\.0\.0\.1:\d+$/);
    const member = peer("milo", "--gui");
    const [, guiUrl = ""] = await member.waitForLine(/^gui at (http:\/\/127\.0\.0\.1:\d+\/\S*)$/);
    member.send("/join napping");
    await member.waitForLine(/^joined napping \(owner hana, public/);

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page: Page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await page.goto(guiUrl);
    await page
      .getByRole("button", { name: /#napping/ })
      .first()
      .click();
    await page.getByRole("heading", { level: 1, name: "#napping" }).waitFor();

    const beforeStop = member.stdoutLines.length;
    host.child.kill("SIGSTOP");
    await member.waitForLine(/^\[napping\] host unreachable$/, { from: beforeStop });
    await page.getByText("#napping is unreachable right now").waitFor();
    await screenshot(page, "stopped-host-unreachable");

    member.send(TEXT);
    await member.waitForLine(
      new RegExp(`^\\[napping\\] \\d\\d:\\d\\d milo \\(you\\): ${TEXT} \\(pending\\)$`),
      {
        from: beforeStop,
      },
    );
    await page.getByText(TEXT).waitFor();

    host.child.kill("SIGCONT");
    await member.waitForLine(new RegExp(`^\\[napping\\] delivered #\\d+: ${TEXT}$`), { from: beforeStop });
    await deliveredMessage(page, "napping", TEXT).waitFor();
    await page.getByText("#napping is unreachable right now").waitFor({ state: "detached" });

    // Exactly once: one delivered line in the CLI, one message in the GUI, one copy at the host.
    const delivered = member.stdoutLines.slice(beforeStop).filter((line) => line.includes(`delivered #`));
    assert.equal(delivered.length, 1, member.stdout);
    assert.equal(await deliveredMessage(page, "napping", TEXT).count(), 1);
    const latecomer = peer("nico");
    latecomer.send("/join napping");
    await latecomer.waitForLine(/^joined napping \(owner hana, public/);
    await latecomer.waitForLine(new RegExp(`milo: ${TEXT}$`));
    latecomer.send("/quit");
    await latecomer.waitForExit();
    const copies = latecomer.stdoutLines.filter((line) => line.endsWith(`milo: ${TEXT}`));
    assert.equal(copies.length, 1, latecomer.stdout);
    await context.close();
  });
});
