import { join } from "node:path";
import { Command, Option } from "commander";
import { GUEST_PREFIX, USERNAME_PATTERN } from "../../protocol/names.js";
import { TrackerServer } from "../../tracker/server.js";
import { certificateFileFingerprint, TLS_CERT_FILE } from "../../transport/tls-identity.js";
import { createLogger, type LogLevel } from "../../util/logger.js";
import { dataRoot, defaultPeerDataDir, defaultTrackerDataDir } from "../../util/paths.js";
import { VERSION } from "../../util/version.js";
import { colorEnabled, Output } from "../format.js";
import {
  DEFAULT_TRACKER_HOST,
  DEFAULT_TRACKER_PORT,
  type LoginFlags,
  logFileOption,
  loginOptions,
  logLevelOption,
  portParser,
} from "../options.js";
import { type LoginPlan, runPeerSession } from "../session.js";

/** What to type next, shown before the first prompt. */
export function upHint(guest: boolean): string[] {
  return guest
    ? ["next: /list to see every channel, /join NAME to read one; /help for all commands"]
    : [
        "next: /host NAME to host a channel, /list to see every channel,",
        "      /join NAME to join one, then type to chat; /help for all commands",
      ];
}

interface UpFlags extends LoginFlags {
  username: string;
  port: number;
  gui: boolean;
  guiPort?: number;
  logLevel?: LogLevel;
  logFile?: string;
}

/** `$USER` cut down to a valid username, else `me`. */
export function defaultUsername(env: NodeJS.ProcessEnv = process.env): string {
  const name = (env.USER ?? env.USERNAME ?? "").replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 32);
  return USERNAME_PATTERN.test(name) && !name.toLowerCase().startsWith(GUEST_PREFIX) ? name : "me";
}

/** `hychat up`: a tracker on this machine plus a peer for you, in one command. */
export function upCommand(): Command {
  const command = new Command("up")
    .description("start a local tracker and a peer for you, and open the shell")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(add --help for the list of options)")
    .addOption(
      new Option("--port <port>", `tracker port on ${DEFAULT_TRACKER_HOST}`)
        .argParser(portParser(true))
        .default(DEFAULT_TRACKER_PORT),
    );
  for (const option of loginOptions({
    usernameDefault: { value: defaultUsername(), description: "$USER, else me" },
    signupFlag: false,
  })) {
    command.addOption(option);
  }
  command
    .addOption(new Option("--no-gui", "do not serve the web GUI (by default it is served on 127.0.0.1)"))
    .addOption(
      new Option("--gui-port <port>", "port of the web GUI (default 0: the OS picks)").argParser(
        portParser(true),
      ),
    )
    .addOption(logLevelOption())
    .addOption(logFileOption())
    .addHelpText("after", `\nData is kept under ${dataRoot()} (set HYCHAT_HOME to move it).`)
    .action(async (flags: UpFlags) => {
      const errors = new Output(process.stderr, colorEnabled(process.stderr));
      const logger = createLogger({ name: "hychat", level: flags.logLevel, file: flags.logFile });
      const out = new Output(process.stdout, colorEnabled(process.stdout));
      // A second `hychat up` on the same machine (another user) joins the tracker the first one started.
      let tracker: TrackerServer | undefined;
      let trackerAddress = { host: DEFAULT_TRACKER_HOST, port: flags.port };
      let trackerFingerprint: string | undefined;
      // Read before starting: a start that fails on a taken port may already have made a key of its own.
      const existingFingerprint = certificateFileFingerprint(join(defaultTrackerDataDir(), TLS_CERT_FILE));
      try {
        tracker = await TrackerServer.start({
          dataDir: defaultTrackerDataDir(),
          host: DEFAULT_TRACKER_HOST,
          port: flags.port,
          logger,
        });
        trackerAddress = tracker.address;
        trackerFingerprint = tracker.fingerprint;
        out.line(`tracker listening on ${trackerAddress.host}:${trackerAddress.port}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") {
          errors.failure(error);
          process.exitCode = 1;
          return;
        }
        out.line(
          `port ${flags.port} is taken: using the tracker already running on ${DEFAULT_TRACKER_HOST}:${flags.port}`,
        );
        // The tracker another `hychat up` started keeps its certificate where this one would have;
        // without one there, the key is trusted on first use.
        trackerFingerprint = existingFingerprint;
      }
      const login: LoginPlan =
        flags.guest !== undefined
          ? { kind: "guest", ...(flags.guest === true ? {} : { name: flags.guest }) }
          : {
              kind: "account",
              username: flags.username,
              signup: true,
              ...(flags.passwordEnv === undefined ? {} : { passwordEnv: flags.passwordEnv }),
            };
      out.flush();
      let exitCode = 1;
      try {
        exitCode = await runPeerSession({
          tracker: trackerAddress,
          dataDir: defaultPeerDataDir(),
          login,
          channels: [],
          headless: false,
          gui: flags.gui,
          logger,
          hint: upHint(login.kind === "guest"),
          ...(trackerFingerprint === undefined ? {} : { trackerFingerprint }),
          ...(flags.guiPort === undefined ? {} : { guiPort: flags.guiPort }),
        });
      } finally {
        await tracker?.close();
      }
      process.exitCode = exitCode;
    });
  return command;
}
