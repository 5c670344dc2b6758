import { readFileSync, statSync } from "node:fs";
import type { Identity, PeerApi } from "../api/index.js";
import { Peer } from "../peer/peer.js";
import type { Address } from "../protocol/tracker-schemas.js";
import type { Logger } from "../util/logger.js";
import { EventPrinter } from "./event-printer.js";
import { colorEnabled, describeError, Output } from "./format.js";
import { Shell } from "./shell.js";
import { Terminal } from "./terminal.js";

/** How the peer identifies itself when it starts. */
export type LoginPlan =
  | {
      kind: "account";
      username: string;
      /** Environment variable holding the password; otherwise a hidden prompt on a terminal. */
      passwordEnv?: string;
      /** Create the account, or sign in when it already exists with that password. */
      signup: boolean;
    }
  | { kind: "guest"; name?: string }
  | { kind: "resume" };

export interface SessionOptions {
  tracker: Address;
  dataDir: string;
  hostListen?: Address;
  /** The address listed for hosted channels instead of the listening one (`--advertise`). */
  hostAdvertise?: Address;
  /** Ask the router for a port mapping (`--no-port-mapping` turns it off). */
  portMapping?: boolean;
  login: LoginPlan;
  /** Channels to host once signed in; each prints `hosting NAME on H:P` once listed. */
  channels: readonly string[];
  /** No interactive shell: run until SIGINT or SIGTERM. */
  headless: boolean;
  gui: boolean;
  guiPort?: number;
  /** Quiet time before a link sends `PING` (default 10 s). */
  heartbeatIntervalMs?: number;
  /** Connections not signed in as a user that this peer's hosted channels take from one address. */
  maxConnectionsPerAddress?: number;
  /** Bytes of messages each hosted channel keeps (`--channel-quota-mib`; 0: no quota). */
  channelQuotaBytes?: number;
  /** The only tracker key accepted (`--tracker-fingerprint`). */
  trackerFingerprint?: string;
  /** A CA certificate file for a tracker with a CA-issued certificate (`--tracker-ca`). */
  trackerCaFile?: string;
  logger: Logger;
  /** Lines shown before the first prompt. */
  hint?: readonly string[];
}

/** Largest CA file read: a certificate chain is a few kilobytes. */
const MAX_CA_FILE_BYTES = 1024 * 1024;

function readCaFile(file: string): string {
  let text: string;
  try {
    if (statSync(file).size > MAX_CA_FILE_BYTES) throw new Error(`larger than ${MAX_CA_FILE_BYTES} bytes`);
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new StartupError("BAD_REQUEST", `cannot read --tracker-ca ${file}: ${(error as Error).message}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new StartupError("BAD_REQUEST", `--tracker-ca ${file} holds no PEM certificate`);
  }
  return text;
}

/** A failure that ends the command: printed as `error CODE: message` on standard error. */
class StartupError extends Error {
  override name = "StartupError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs one peer for `hychat peer` and `hychat up`: opens it, signs in, hosts the channels asked
 * for, starts the GUI when asked, then runs the shell (or waits for a signal when headless) and
 * closes everything. Resolves with the process exit code.
 */
export async function runPeerSession(options: SessionOptions): Promise<number> {
  const out = new Output(process.stdout, colorEnabled(process.stdout));
  const errors = new Output(process.stderr, colorEnabled(process.stderr));
  const stdinTerminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  let shell: Shell | undefined;
  // The headless peer only needs input for a password prompt on a terminal.
  let terminal: Terminal | undefined =
    !options.headless || (stdinTerminal && needsPrompt(options.login))
      ? new Terminal({ completer: (line) => shell?.complete(line) ?? [[], line] })
      : undefined;

  let stopRequested: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    // A second signal while closing means the user does not want to wait.
    if (signals > 1) process.exit(130);
    stopRequested?.();
    shell?.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let peer: Peer | undefined;
  let gui: { url: string; close(): Promise<void> } | undefined;
  let unsubscribe: (() => void) | undefined;
  let exitCode = 0;
  try {
    const opened = await Peer.open({
      tracker: options.tracker,
      dataDir: options.dataDir,
      logger: options.logger,
      ...(options.hostListen === undefined ? {} : { hostListen: options.hostListen }),
      ...(options.hostAdvertise === undefined ? {} : { hostAdvertise: options.hostAdvertise }),
      ...(options.portMapping === undefined ? {} : { portMapping: options.portMapping }),
      ...(options.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: options.heartbeatIntervalMs }),
      ...(options.trackerFingerprint === undefined ? {} : { trackerFingerprint: options.trackerFingerprint }),
      ...(options.trackerCaFile === undefined ? {} : { trackerCa: [readCaFile(options.trackerCaFile)] }),
      hostLimits: {
        ...(options.maxConnectionsPerAddress === undefined
          ? {}
          : { maxConnectionsPerAddress: options.maxConnectionsPerAddress }),
        ...(options.channelQuotaBytes === undefined ? {} : { channelQuotaBytes: options.channelQuotaBytes }),
      },
    });
    peer = opened;
    const printer = new EventPrinter(out, {
      current: () => shell?.current() ?? null,
      markRead: (channel) => opened.markRead(channel),
      username: () => opened.identity?.username ?? null,
    });
    unsubscribe = opened.subscribe((event) => printer.handle(event));

    const identity = await Promise.race([
      logIn(opened, options.login, terminal, out),
      stopped.then(() => null),
    ]);
    if (identity !== null) printer.identity(identity);
    else if (signals === 0) {
      // Hosting needs an account, and a headless peer without the GUI has nowhere to sign in.
      if (options.channels.length > 0 || (options.headless && !options.gui)) {
        throw new StartupError(
          "NOT_SIGNED_IN",
          "no saved session: give --username (and --signup) or --guest",
        );
      }
      out.notice(
        options.headless
          ? "not signed in: sign in on the GUI page"
          : "not signed in: /signin USER, /signup USER or /guest [NAME]",
      );
    }
    for (const channel of options.channels) {
      if (signals > 0) break;
      printer.hosting(await opened.host(channel));
    }
    if (options.gui && signals === 0) {
      const { startGuiServer } = await import("../gui/server.js");
      gui = await startGuiServer({
        peer: opened,
        logger: options.logger,
        ...(options.guiPort === undefined ? {} : { port: options.guiPort }),
      });
      out.line(`gui at ${gui.url}`);
    }

    if (options.headless) {
      terminal?.close();
      terminal = undefined;
      await stopped;
    } else if (terminal !== undefined && signals === 0) {
      shell = new Shell({ peer: opened, terminal, out, printer, logger: options.logger });
      for (const line of options.hint ?? []) out.notice(line);
      await Promise.race([shell.run(), stopped]);
    }
  } catch (error) {
    errors.failure(error);
    options.logger.debug({ err: error }, "peer session failed");
    exitCode = 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // Late signals still end the process promptly while it closes.
    process.once("SIGINT", () => process.exit(130));
    process.once("SIGTERM", () => process.exit(143));
    shell?.stop();
    terminal?.close();
    unsubscribe?.();
    exitCode = Math.max(exitCode, await closeQuietly(gui, options.logger, "gui"));
    exitCode = Math.max(exitCode, await closeQuietly(peer, options.logger, "peer"));
    out.flush();
    errors.flush();
  }
  return exitCode;
}

function needsPrompt(login: LoginPlan): boolean {
  return login.kind === "account" && login.passwordEnv === undefined;
}

async function logIn(
  peer: Peer,
  login: LoginPlan,
  terminal: Terminal | undefined,
  out: Output,
): Promise<Identity | null> {
  switch (login.kind) {
    case "guest":
      return peer.guest(login.name);
    case "resume":
      return peer.resume();
    case "account": {
      // Without a password at hand, the saved session of this user saves a prompt.
      if (login.passwordEnv === undefined) {
        const resumed = await peer.resume(login.username);
        if (resumed !== null && resumed.username.toLowerCase() === login.username.toLowerCase())
          return resumed;
      }
      out.flush();
      const password = await readPassword(login, terminal);
      try {
        return await (login.signup
          ? signUpOrIn(peer, login.username, password)
          : peer.signIn(login.username, password));
      } catch (error) {
        if (!trackerUnreachable(error)) throw error;
        // Signing in needs the tracker; the saved session of this user does not, until it expires.
        const resumed = await peer.resume(login.username);
        if (resumed === null || resumed.username.toLowerCase() !== login.username.toLowerCase()) throw error;
        out.warn(
          `cannot sign in while the tracker is unreachable: using the saved session of ${resumed.username}`,
        );
        return resumed;
      }
    }
  }
}

function trackerUnreachable(error: unknown): boolean {
  const { code } = describeError(error);
  return code === "TIMEOUT" || code === "CONNECTION_CLOSED";
}

async function readPassword(
  login: { username: string; passwordEnv?: string },
  terminal: Terminal | undefined,
): Promise<string> {
  if (login.passwordEnv !== undefined) {
    const password = process.env[login.passwordEnv];
    if (password === undefined || password === "") {
      throw new StartupError("NO_PASSWORD", `environment variable ${login.passwordEnv} is not set`);
    }
    return password;
  }
  if (terminal === undefined || !terminal.interactive) {
    throw new StartupError(
      "NO_PASSWORD",
      `no password for ${login.username}: use --password-env VAR, or run on a terminal to be asked`,
    );
  }
  const password = await terminal.readSecret(`password for ${login.username}: `);
  if (password === null || password === "") throw new StartupError("NO_PASSWORD", "no password given");
  return password;
}

/** Creates the account, or signs in when it exists: the same command works on every restart. */
async function signUpOrIn(peer: PeerApi, username: string, password: string): Promise<Identity> {
  try {
    return await peer.signUp(username, password);
  } catch (error) {
    if (describeError(error).code !== "USERNAME_TAKEN") throw error;
    return peer.signIn(username, password);
  }
}

async function closeQuietly(
  closable: { close(): Promise<void> } | undefined,
  logger: Logger,
  what: string,
): Promise<number> {
  if (closable === undefined) return 0;
  try {
    await closable.close();
    return 0;
  } catch (error) {
    logger.error({ err: error }, `${what} did not close cleanly`);
    return 1;
  }
}
