import { Command, Option } from "commander";
import { DEFAULT_CHANNEL_QUOTA_BYTES } from "../../peer/hosting.js";
import type { Address } from "../../protocol/tracker-schemas.js";
import { DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from "../../transport/admission.js";
import { createLogger, type LogLevel } from "../../util/logger.js";
import { defaultPeerDataDir } from "../../util/paths.js";
import { VERSION } from "../../util/version.js";
import {
  channelQuotaOption,
  DEFAULT_TRACKER_HOST,
  DEFAULT_TRACKER_PORT,
  heartbeatOption,
  type LoginFlags,
  logFileOption,
  loginOptions,
  logLevelOption,
  parseChannelName,
  parseHostPort,
  perAddressOption,
  portParser,
  trackerTrustOptions,
} from "../options.js";
import { type LoginPlan, runPeerSession } from "../session.js";

/** Where hosted channels listen unless told (the peer's own default); `0.0.0.0` serves every interface. */
export const DEFAULT_PEER_HOST_IP = "127.0.0.1";

interface PeerFlags extends LoginFlags {
  tracker: Address;
  trackerIp?: string;
  trackerPort?: number;
  channelName?: string[];
  peerHostIp?: string;
  peerHostPort?: number;
  advertise?: Address;
  portMapping: boolean;
  dataDir: string;
  headless?: boolean;
  gui?: boolean;
  guiPort?: number;
  heartbeatInterval?: number;
  maxPerAddress?: number;
  channelQuotaMib?: number;
  trackerFingerprint?: string;
  trackerCa?: string;
  logLevel?: LogLevel;
  logFile?: string;
}

/** `hychat peer`: a peer that signs in, hosts and joins channels, driven by the shell or headless. */
export function peerCommand(): Command {
  const command = new Command("peer")
    .description("run a peer: sign in, host channels, join channels, chat")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(add --help for the list of options)")
    .addOption(
      new Option("--tracker <host:port>", "the tracker's address")
        .argParser(parseHostPort)
        .default(
          { host: DEFAULT_TRACKER_HOST, port: DEFAULT_TRACKER_PORT },
          `${DEFAULT_TRACKER_HOST}:${DEFAULT_TRACKER_PORT}`,
        ),
    )
    .addOption(new Option("--tracker-ip <host>", "the tracker's host (overrides the one in --tracker)"))
    .addOption(
      new Option("--tracker-port <port>", "the tracker's port (overrides the one in --tracker)").argParser(
        portParser(false),
      ),
    );
  for (const option of trackerTrustOptions()) command.addOption(option);
  for (const option of loginOptions({ signupFlag: true })) command.addOption(option);
  command
    .addOption(
      new Option("--channel-name <name>", "host this channel (repeat for more)").argParser(parseChannelName),
    )
    .addOption(
      new Option(
        "--peer-host-ip <ip>",
        `address hosted channels listen on (default ${DEFAULT_PEER_HOST_IP}; 0.0.0.0: every interface)`,
      ),
    )
    .addOption(
      new Option(
        "--peer-host-port <port>",
        "port hosted channels listen on (default 0: the previous run's port when free, else the OS picks)",
      ).argParser(portParser(true)),
    )
    .addOption(
      new Option(
        "--advertise <host:port>",
        "list hosted channels at this address (a port forwarded on your router) instead of the listening one",
      ).argParser(parseHostPort),
    )
    .addOption(
      new Option("--no-port-mapping", "do not ask the router (UPnP, NAT-PMP) to forward the hosting port"),
    )
    .addOption(
      new Option("--data-dir <dir>", "where the outbox, read positions and hosted channels are kept").default(
        defaultPeerDataDir(),
      ),
    )
    .addOption(new Option("--headless", "no interactive shell: run until SIGINT or SIGTERM"))
    .addOption(new Option("--gui", "also serve the web GUI on 127.0.0.1 (prints `gui at URL`)"))
    .addOption(
      new Option("--gui-port <port>", "port of the web GUI (default 0: the OS picks)").argParser(
        portParser(true),
      ),
    )
    .addOption(heartbeatOption())
    .addOption(perAddressOption("hosted channels", DEFAULT_MAX_CONNECTIONS_PER_ADDRESS))
    .addOption(channelQuotaOption(DEFAULT_CHANNEL_QUOTA_BYTES))
    .addOption(logLevelOption())
    .addOption(logFileOption())
    .action(async (flags: PeerFlags) => {
      if (flags.username === undefined && (flags.signup === true || flags.passwordEnv !== undefined)) {
        command.error("error: --signup and --password-env need --username");
      }
      const login: LoginPlan =
        flags.guest !== undefined
          ? { kind: "guest", ...(flags.guest === true ? {} : { name: flags.guest }) }
          : flags.username !== undefined
            ? {
                kind: "account",
                username: flags.username,
                signup: flags.signup === true,
                ...(flags.passwordEnv === undefined ? {} : { passwordEnv: flags.passwordEnv }),
              }
            : { kind: "resume" };
      const hostListen =
        flags.peerHostIp === undefined && flags.peerHostPort === undefined
          ? undefined
          : { host: flags.peerHostIp ?? DEFAULT_PEER_HOST_IP, port: flags.peerHostPort ?? 0 };
      process.exitCode = await runPeerSession({
        tracker: {
          host: flags.trackerIp ?? flags.tracker.host,
          port: flags.trackerPort ?? flags.tracker.port,
        },
        dataDir: flags.dataDir,
        login,
        channels: flags.channelName ?? [],
        headless: flags.headless === true,
        gui: flags.gui === true,
        logger: createLogger({ name: "peer", level: flags.logLevel, file: flags.logFile }),
        ...(hostListen === undefined ? {} : { hostListen }),
        ...(flags.advertise === undefined ? {} : { hostAdvertise: flags.advertise }),
        portMapping: flags.portMapping,
        ...(flags.guiPort === undefined ? {} : { guiPort: flags.guiPort }),
        ...(flags.heartbeatInterval === undefined ? {} : { heartbeatIntervalMs: flags.heartbeatInterval }),
        ...(flags.maxPerAddress === undefined ? {} : { maxConnectionsPerAddress: flags.maxPerAddress }),
        ...(flags.channelQuotaMib === undefined
          ? {}
          : { channelQuotaBytes: flags.channelQuotaMib * 1024 * 1024 }),
        ...(flags.trackerFingerprint === undefined ? {} : { trackerFingerprint: flags.trackerFingerprint }),
        ...(flags.trackerCa === undefined ? {} : { trackerCaFile: flags.trackerCa }),
      });
    });
  return command;
}
