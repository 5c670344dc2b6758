/**
 * The legitimate clients of `npm run soak`, from an address no attacker uses: a fresh sign-in of
 * the victim (the name the wrong passwords are tried against) every second, one at a time as a
 * person signs in (a tick that finds the last one still under way is skipped), timed from the TCP
 * connect to the ticket; and two members of the host's channel, one sending a signed message five
 * times a second, the other receiving them, timed from the send to the receipt. Every figure is
 * kept per phase (the one current when the sign-in or send began); any refusal or failure is
 * counted by its code.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { DeviceKey } from "../../../src/auth/device-key.js";
import { processStats, serveParent } from "../../lib/child.js";
import { nowUs } from "../../lib/clock.js";
import { type Credentials, signedMessage } from "../../lib/credentials.js";
import { Histogram, type SerializedHistogram } from "../../lib/stats.js";
import { SoakClient, type Target } from "../links.js";
import { ADDRESSES, LEGITIMATE } from "../plan.js";
import type { Account } from "./attacker.js";

export interface LegitimateConfig {
  tracker: Target;
  host: Target;
  channel: string;
  victim: Account;
  sender: Account;
  receiver: Account;
}

export interface PhaseFigures {
  signInUs: SerializedHistogram;
  /** Send to receipt by the other member. */
  messageUs: SerializedHistogram;
  /** Send to the host's OK. */
  messageOkUs: SerializedHistogram;
  signIns: number;
  /** Ticks skipped because the last sign-in was still under way. */
  signInsSkipped: number;
  messagesSent: number;
  messagesReceived: number;
  /** This process's own event-loop delay, p99: what of the latencies is the client's own doing. */
  eventLoopDelayP99Us: number;
  /** Refusals and failures by code: `sign-in CODE`, `MESSAGE CODE`, `member link closed`, `lost`. */
  failures: Record<string, number>;
}

class Phase {
  readonly signIn = new Histogram();
  readonly message = new Histogram();
  readonly messageOk = new Histogram();
  signIns = 0;
  signInsSkipped = 0;
  messagesSent = 0;
  messagesReceived = 0;
  readonly failures: Record<string, number> = {};
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.loopDelay.enable();
  }

  end(): void {
    this.loopDelay.disable();
  }

  fail(what: string): void {
    this.failures[what] = (this.failures[what] ?? 0) + 1;
  }

  toJSON(): PhaseFigures {
    return {
      signInUs: this.signIn.toJSON(),
      messageUs: this.message.toJSON(),
      messageOkUs: this.messageOk.toJSON(),
      signIns: this.signIns,
      signInsSkipped: this.signInsSkipped,
      eventLoopDelayP99Us: this.loopDelay.percentile(99) / 1000,
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      failures: this.failures,
    };
  }
}

/** How long a legitimate request may take before it counts as failed. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long `stop` waits for sign-ins and messages still under way: until each is answered or timed out. */
const DRAIN_MS = REQUEST_TIMEOUT_MS + 5_000;

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
}

async function signInOn(client: SoakClient, account: Account, device: string): Promise<Credentials> {
  const key = DeviceKey.generate();
  const body = await client.request<{ username: string; ticket: string }>(
    "SIGNIN",
    { ...account, device, publicKey: key.publicKey, proof: client.prove(key, "SIGNIN") },
    REQUEST_TIMEOUT_MS,
  );
  return { username: body.username, ticket: body.ticket, key };
}

interface Member {
  credentials: Credentials;
  tracker: SoakClient;
  host: SoakClient;
}

let config: LegitimateConfig;
const phases = new Map<string, Phase>();
let phase: Phase | undefined;
let running = false;
const timers: NodeJS.Timeout[] = [];
const underWay = new Set<Promise<void>>();
/** Messages sent and not yet received: when, and in which phase. */
const inFlight = new Map<string, { sentUs: number; phase: Phase }>();
const members: Member[] = [];

function current(): Phase {
  if (phase === undefined) throw new Error("not started");
  return phase;
}

function track(work: Promise<void>): void {
  underWay.add(work);
  void work.finally(() => underWay.delete(work));
}

/** A member signed in on its own tracker link and joined to the channel, both links kept open. */
async function join(account: Account, onMessage?: (body: Record<string, unknown>) => void): Promise<Member> {
  const tracker = await SoakClient.open(config.tracker, ADDRESSES.legitimate);
  const credentials = await signInOn(tracker, account, `soak-${account.username}`);
  const host = await SoakClient.open(config.host, ADDRESSES.legitimate, (frame) => {
    if (frame.event === "MESSAGE") onMessage?.(frame.body);
  });
  await host.request(
    "CONNECT",
    {
      channel: config.channel,
      ticket: credentials.ticket,
      proof: host.prove(credentials.key, "CONNECT", config.channel),
    },
    REQUEST_TIMEOUT_MS,
  );
  const member = { credentials, tracker, host };
  for (const link of [tracker, host]) {
    void link.closed.then(() => {
      if (running) current().fail("member link closed");
    });
  }
  return member;
}

async function setup(given: LegitimateConfig): Promise<void> {
  config = given;
  const sender = await join(given.sender);
  const receiver = await join(given.receiver, (body) => {
    if (body.from !== sender.credentials.username) return;
    const sent = inFlight.get(String(body.msgId));
    if (sent === undefined) return;
    inFlight.delete(String(body.msgId));
    sent.phase.message.record(nowUs() - sent.sentUs);
    sent.phase.messagesReceived += 1;
  });
  members.push(sender, receiver);
}

let signingIn: Promise<void> | undefined;
async function signInOnce(): Promise<void> {
  const counted = current();
  const startedUs = nowUs();
  let client: SoakClient | undefined;
  try {
    client = await SoakClient.open(config.tracker, ADDRESSES.legitimate);
    await signInOn(client, config.victim, "soak-victim");
    counted.signIn.record(nowUs() - startedUs);
    counted.signIns += 1;
  } catch (error) {
    // How long it waited tells a limit's refusal from a deadline (the tracker's for signing in is 20 s).
    counted.fail(`sign-in ${codeOf(error)} after ${Math.round((nowUs() - startedUs) / 1e6)} s`);
  } finally {
    await client?.close().catch(() => {});
  }
}

let sequence = 0;
async function sendOnce(): Promise<void> {
  const [sender] = members;
  if (sender === undefined) return;
  const counted = current();
  sequence += 1;
  const msgId = `soak-${sequence}`;
  const sentAt = new Date().toISOString();
  const message = signedMessage(
    sender.credentials,
    config.channel,
    msgId,
    `legitimate message ${sequence}`,
    sentAt,
  );
  const sentUs = nowUs();
  inFlight.set(msgId, { sentUs, phase: counted });
  counted.messagesSent += 1;
  try {
    await sender.host.request("MESSAGE", { channel: config.channel, ...message }, REQUEST_TIMEOUT_MS);
    counted.messageOk.record(nowUs() - sentUs);
  } catch (error) {
    inFlight.delete(msgId);
    counted.fail(`MESSAGE ${codeOf(error)}`);
  }
}

function setPhase(name: string): void {
  phase?.end();
  const next = new Phase();
  phases.set(name, next);
  phase = next;
}

const parent = serveParent({
  setup,
  start: ({ phase: name }: { phase: string }) => {
    setPhase(name);
    running = true;
    timers.push(
      setInterval(() => {
        if (signingIn === undefined) {
          signingIn = signInOnce().finally(() => {
            signingIn = undefined;
          });
          track(signingIn);
        } else current().signInsSkipped += 1;
      }, LEGITIMATE.signInIntervalMs),
      setInterval(() => track(sendOnce()), LEGITIMATE.messageIntervalMs),
    );
  },
  phase: ({ phase: name }: { phase: string }) => setPhase(name),
  stop: async (): Promise<Record<string, PhaseFigures>> => {
    for (const timer of timers) clearInterval(timer);
    const deadline = Date.now() + DRAIN_MS;
    while ((underWay.size > 0 || inFlight.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    running = false;
    phase?.end();
    for (const sent of inFlight.values()) sent.phase.fail("lost");
    await Promise.all(members.flatMap((member) => [member.tracker.close(), member.host.close()]));
    return Object.fromEntries([...phases].map(([name, figures]) => [name, figures.toJSON()]));
  },
  stats: processStats,
  close: () => {},
});
parent.ready({});
