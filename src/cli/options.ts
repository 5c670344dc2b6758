import { InvalidArgumentError, Option } from "commander";
import { CHANNEL_PATTERN, GUEST_PREFIX, USERNAME_PATTERN } from "../protocol/names.js";
import type { Address } from "../protocol/tracker-schemas.js";
import type { LogLevel } from "../util/logger.js";

/** Flag parsers and flags shared by the `peer` and `up` subcommands. */

export const DEFAULT_TRACKER_HOST = "127.0.0.1";
export const DEFAULT_TRACKER_PORT = 22236;
export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** A TCP port; `allowZero` for listening ports, where 0 lets the OS pick. */
export function portParser(allowZero: boolean): (value: string) => number {
  return (value) => {
    const port = Number(value);
    if (!/^\d+$/.test(value) || port > 65535 || (port === 0 && !allowZero)) {
      throw new InvalidArgumentError(`not a port number (${allowZero ? 0 : 1}..65535)`);
    }
    return port;
  };
}

/** `HOST:PORT`, `[IPv6]:PORT`. */
export function parseHostPort(value: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  if (match === null || host === undefined) throw new InvalidArgumentError("expected HOST:PORT");
  return { host, port: portParser(false)(match[3] ?? "") };
}

export function parseChannelName(value: string, previous: string[] | undefined): string[] {
  if (!CHANNEL_PATTERN.test(value))
    throw new InvalidArgumentError("channel names are 1-64 of A-Z a-z 0-9 _ . -");
  return [...(previous ?? []), value];
}

export function parseUsername(value: string): string {
  if (!USERNAME_PATTERN.test(value))
    throw new InvalidArgumentError("usernames are 1-32 of A-Z a-z 0-9 _ . -");
  if (value.toLowerCase().startsWith(GUEST_PREFIX)) {
    throw new InvalidArgumentError(`accounts may not begin with ${GUEST_PREFIX}; use --guest NAME`);
  }
  return value;
}

export function parseGuestName(value: string): string {
  const name = value.toLowerCase().startsWith(GUEST_PREFIX) ? value.slice(GUEST_PREFIX.length) : value;
  if (!USERNAME_PATTERN.test(name))
    throw new InvalidArgumentError("guest names are 1-32 of A-Z a-z 0-9 _ . -");
  return name;
}

/** An environment variable name (the password is read from it, never from the command line). */
export function parseEnvName(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value))
    throw new InvalidArgumentError("not an environment variable name");
  return value;
}

export function logLevelOption(): Option {
  return new Option("--log-level <level>", "log level (logs go to standard error or --log-file)").choices(
    LOG_LEVELS,
  );
}

/** `sha256:` and 64 hex digits, as `hychat tracker` prints it (upper case and colons accepted). */
export function parseFingerprint(value: string): string {
  const hex = value
    .replace(/^sha256:/i, "")
    .replaceAll(":", "")
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new InvalidArgumentError("expected sha256: and 64 hex digits, as the tracker prints it");
  }
  return `sha256:${hex}`;
}

/** `--tracker-fingerprint` and `--tracker-ca`: how this peer knows its tracker is the real one. */
export function trackerTrustOptions(): Option[] {
  return [
    new Option(
      "--tracker-fingerprint <fp>",
      "accept only this tracker key (from its `tls fingerprint` line); also replaces a key trusted before",
    ).argParser(parseFingerprint),
    new Option(
      "--tracker-ca <file>",
      "also trust this CA certificate (PEM) for a tracker's CA-issued certificate",
    ),
  ];
}

/** Default of `--heartbeat-interval`, as the links' own default. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/**
 * `--heartbeat-interval MS`: how long a link may stay quiet before this side sends `PING`; after two
 * unanswered ones it is closed. Shorter finds a dead host or tracker sooner, at a little traffic.
 */
export function heartbeatOption(): Option {
  return new Option(
    "--heartbeat-interval <ms>",
    `send PING on a link quiet this long; 2 unanswered close it (default ${DEFAULT_HEARTBEAT_INTERVAL_MS})`,
  ).argParser((value: string) => {
    const ms = Number(value);
    if (!/^\d+$/.test(value) || ms < 10 || ms > 3_600_000) {
      throw new InvalidArgumentError("milliseconds between 10 and 3600000");
    }
    return ms;
  });
}

/**
 * `--max-per-address N`: connections not signed in as a user (guests included) that a
 * server takes at once from one address (IPv6: one /64); 0 lifts the cap, say for a load test
 * whose clients all come from one machine.
 */
export function perAddressOption(server: "the tracker" | "hosted channels", defaultCap: number): Option {
  return new Option(
    "--max-per-address <n>",
    `connections not signed in as a user, and guests, that ${server} take at once from one address (0: no cap; default ${defaultCap})`,
  ).argParser((value: string) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || count > 1_000_000)
      throw new InvalidArgumentError("must be from 0 (no cap) to 1000000");
    return count;
  });
}

/**
 * `--channel-quota-mib N`: MiB of messages each hosted channel keeps; beyond it the oldest are
 * deleted as new ones come (0: no quota).
 */
export function channelQuotaOption(defaultBytes: number): Option {
  return new Option(
    "--channel-quota-mib <n>",
    `MiB of messages each hosted channel keeps; the oldest beyond it are deleted (0: no quota; default ${defaultBytes / (1024 * 1024)})`,
  ).argParser((value: string) => {
    const mebibytes = Number(value);
    if (!/^\d+$/.test(value) || mebibytes > 1_048_576)
      throw new InvalidArgumentError("must be from 0 (no quota) to 1048576");
    return mebibytes;
  });
}

export function logFileOption(): Option {
  return new Option("--log-file <file>", "append logs to this file instead of standard error");
}

/** The flags that decide how a peer identifies itself. */
export interface LoginFlags {
  username?: string;
  passwordEnv?: string;
  signup?: boolean;
  guest?: string | true;
}

/**
 * `--username`, `--password-env`, `--guest`, and `--signup` unless every sign-in is a sign-up
 * (`up`); `usernameDefault` is shown in the help.
 */
export function loginOptions(options: {
  usernameDefault?: { value: string; description: string };
  signupFlag: boolean;
}): Option[] {
  const username = new Option("--username <user>", "sign in as this user").argParser(parseUsername);
  if (options.usernameDefault !== undefined) {
    username.default(options.usernameDefault.value, options.usernameDefault.description);
  }
  const signup = new Option("--signup", "create the account, or sign in when it exists with this password");
  return [
    username,
    new Option(
      "--password-env <var>",
      "read the password from this environment variable (else a hidden prompt on a terminal)",
    ).argParser(parseEnvName),
    ...(options.signupFlag ? [signup] : []),
    new Option("--guest [name]", "enter as guest-NAME (read only); the tracker picks a name if none is given")
      .argParser(parseGuestName)
      .conflicts(["username", "passwordEnv", "signup"]),
  ];
}
