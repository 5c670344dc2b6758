import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_PASSWORD_HASH } from "../../auth/password.js";
import { DEFAULT_TICKET_TTL_S } from "../../auth/tickets.js";
import { DEFAULT_TRACKER_OPTIONS, TrackerServer } from "../../tracker/server.js";
import { createLogger, type LogLevel } from "../../util/logger.js";
import { defaultTrackerDataDir } from "../../util/paths.js";
import { VERSION } from "../../util/version.js";
import { describeError } from "../format.js";
import { heartbeatOption, perAddressOption } from "../options.js";

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

interface TrackerFlags {
  host?: string;
  trackerIp?: string;
  port?: number;
  trackerPort?: number;
  dataDir: string;
  ticketTtl: number;
  maxDevices: number;
  maxChannelsPerUser: number;
  maxChannels: number;
  hostRate: number;
  passwordCost: number;
  signupsPerAddress: number;
  signupsPerMinute: number;
  passwordConcurrency: number;
  passwordQueue: number;
  heartbeatInterval?: number;
  maxPerAddress?: number;
  relay: boolean;
  reachabilityTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: LogLevel;
  logFile?: string;
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError("must be a port from 0 to 65535");
  return port;
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1)
    throw new InvalidArgumentError("must be a whole number of seconds, at least 1");
  return seconds;
}

function deviceCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count > 10_000)
    throw new InvalidArgumentError("must be from 0 (no limit) to 10000");
  return count;
}

/** A count from 0 (no limit) to `max`, for the flags of limits. */
function limitCount(max: number): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || count > max)
      throw new InvalidArgumentError(`must be from 0 (no limit) to ${max}`);
    return count;
  };
}

/** A whole number from `min` to `max`, for the password queue's flags. */
function countFrom(min: number, max: number): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || count < min || count > max)
      throw new InvalidArgumentError(`must be from ${min} to ${max}`);
    return count;
  };
}

function passwordCost(value: string): number {
  const logN = Number(value);
  if (!/^\d+$/.test(value) || logN < 10 || logN > 20) throw new InvalidArgumentError("must be from 10 to 20");
  return logN;
}

/** `hychat tracker`: runs the tracker until SIGINT or SIGTERM. */
export function trackerCommand(): Command {
  return new Command("tracker")
    .description("run the tracker: accounts, tickets and the channel directory")
    .version(VERSION, "-V, --version")
    .option("--host <host>", "address to listen on", DEFAULT_TRACKER_OPTIONS.host)
    .addOption(new Option("--tracker-ip <host>", "alias of --host").hideHelp())
    .option("--port <port>", "port to listen on (0: the OS picks)", portNumber, DEFAULT_TRACKER_OPTIONS.port)
    .addOption(new Option("--tracker-port <port>", "alias of --port").argParser(portNumber).hideHelp())
    .option(
      "--data-dir <dir>",
      "where accounts, channels and the signing key are kept",
      defaultTrackerDataDir(),
    )
    .option("--ticket-ttl <seconds>", "lifetime of signed tickets", positiveSeconds, DEFAULT_TICKET_TTL_S)
    .option(
      "--max-devices <n>",
      "devices signed in at once per account; one more revokes the least recently used (0: no limit)",
      deviceCount,
      DEFAULT_TRACKER_OPTIONS.maxDevicesPerAccount,
    )
    .option(
      "--max-channels-per-user <n>",
      "channels one user may have registered (0: no limit)",
      limitCount(1_000_000),
      DEFAULT_TRACKER_OPTIONS.maxChannelsPerUser,
    )
    .option(
      "--max-channels <n>",
      "channels registered on the tracker in all (0: no limit)",
      limitCount(100_000_000),
      DEFAULT_TRACKER_OPTIONS.maxChannels,
    )
    .option(
      "--host-rate <n>",
      "HOSTs per second per user that register a channel or change a live listing (0: no limit)",
      limitCount(10_000),
      DEFAULT_TRACKER_OPTIONS.hostsPerSecondPerUser,
    )
    .option(
      "--password-cost <log2N>",
      "scrypt cost of new password hashes as log2(N); lower it only for tests",
      passwordCost,
      DEFAULT_PASSWORD_HASH.logN,
    )
    .option(
      "--signups-per-address <n>",
      "SIGNUPs per address (IPv6: one /64) and hour, also the burst (0: no limit)",
      limitCount(1_000_000),
      DEFAULT_TRACKER_OPTIONS.signupsPerAddressPerHour,
    )
    .option(
      "--signups-per-minute <n>",
      "SIGNUPs per minute from all addresses, also the burst (0: no limit)",
      limitCount(1_000_000),
      DEFAULT_TRACKER_OPTIONS.signupsPerMinute,
    )
    .option(
      "--password-concurrency <n>",
      "password hashes and checks run at once (each holds 128*N*r bytes)",
      countFrom(1, 64),
      DEFAULT_TRACKER_OPTIONS.passwordHashConcurrency,
    )
    .option(
      "--password-queue <n>",
      "password jobs waiting, sign-ins first; one more is answered BUSY",
      countFrom(0, 100_000),
      DEFAULT_TRACKER_OPTIONS.passwordHashQueueLength,
    )
    .addOption(heartbeatOption())
    .addOption(perAddressOption("the tracker", DEFAULT_TRACKER_OPTIONS.maxConnectionsPerAddress))
    .option("--no-relay", "do not relay for hosts the tracker cannot dial (they are listed unreachable)")
    .option(
      "--reachability-timeout <ms>",
      "how long the dial to a new host's address may take before it counts as unreachable",
      countFrom(100, 60_000),
      DEFAULT_TRACKER_OPTIONS.reachabilityTimeoutMs,
    )
    .option(
      "--tls-cert <file>",
      "present this certificate (PEM, with its chain) instead of the tracker's own self-signed one",
    )
    .option("--tls-key <file>", "the private key (PEM) of --tls-cert")
    .addOption(
      new Option("--log-level <level>", "log level (default: $HYCHAT_LOG_LEVEL, else warn)").choices(
        LOG_LEVELS,
      ),
    )
    .option("--log-file <file>", "append logs to this file instead of standard error")
    .action(async (flags: TrackerFlags) => {
      const host = flags.trackerIp ?? flags.host ?? DEFAULT_TRACKER_OPTIONS.host;
      const port = flags.trackerPort ?? flags.port ?? DEFAULT_TRACKER_OPTIONS.port;
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        process.stderr.write("error BAD_REQUEST: --tls-cert and --tls-key go together\n");
        process.exitCode = 2;
        return;
      }
      const logger = createLogger({ name: "tracker", level: flags.logLevel, file: flags.logFile });
      let tracker: TrackerServer;
      try {
        tracker = await TrackerServer.start({
          dataDir: flags.dataDir,
          host,
          port,
          ticketTtlS: flags.ticketTtl,
          maxDevicesPerAccount: flags.maxDevices,
          maxChannelsPerUser: flags.maxChannelsPerUser,
          maxChannels: flags.maxChannels,
          hostsPerSecondPerUser: flags.hostRate,
          passwordHash: { ...DEFAULT_PASSWORD_HASH, logN: flags.passwordCost },
          signupsPerAddressPerHour: flags.signupsPerAddress,
          signupsPerMinute: flags.signupsPerMinute,
          passwordHashConcurrency: flags.passwordConcurrency,
          passwordHashQueueLength: flags.passwordQueue,
          ...(flags.heartbeatInterval === undefined ? {} : { heartbeatIntervalMs: flags.heartbeatInterval }),
          ...(flags.maxPerAddress === undefined ? {} : { maxConnectionsPerAddress: flags.maxPerAddress }),
          relay: flags.relay,
          reachabilityTimeoutMs: flags.reachabilityTimeout,
          ...(flags.tlsCert === undefined ? {} : { tlsCert: flags.tlsCert }),
          ...(flags.tlsKey === undefined ? {} : { tlsKey: flags.tlsKey }),
          logger,
        });
      } catch (error) {
        const { code, message } = describeError(error);
        process.stderr.write(`error ${code}: hychat tracker cannot start on ${host}:${port}: ${message}\n`);
        process.exitCode = 1;
        return;
      }
      const stop = (signal: NodeJS.Signals) => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        logger.info({ signal }, "stopping tracker");
        tracker.close().then(
          () => {
            process.exitCode = 0;
          },
          (error: unknown) => {
            logger.error({ err: error }, "tracker did not close cleanly");
            process.exitCode = 1;
          },
        );
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      process.stdout.write(
        `listening on ${tracker.address.host}:${tracker.address.port}\ntls fingerprint ${tracker.fingerprint}\n`,
      );
    });
}
