import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Logger, pino } from "pino";

export type { Logger };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface LoggerOptions {
  level?: LogLevel;
  /** A file to append to; default standard error. Never standard output, which is program output. */
  file?: string;
  name?: string;
}

/**
 * The one way the project logs. Level from the option, else `HYCHAT_LOG_LEVEL`, else `warn`.
 * A log file is made owner-only (0600, in a 0700 directory when it makes one): logs name users,
 * addresses and channels.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.HYCHAT_LOG_LEVEL as LogLevel | undefined) ?? "warn";
  if (options.file !== undefined) mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  const destination =
    options.file === undefined
      ? pino.destination({ fd: 2, sync: true })
      : pino.destination({ dest: options.file, mode: 0o600, sync: false });
  return pino({ level, name: options.name, base: { pid: process.pid } }, destination);
}

export const silentLogger: Logger = pino({ level: "silent" });
