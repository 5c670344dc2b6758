import type { PeerApi } from "../../api/index.js";
import type { EventPrinter } from "../event-printer.js";
import type { Output } from "../format.js";

/** What a slash command can use: the peer facade, the output, and the shell's own state. */
export interface SlashContext {
  readonly peer: PeerApi;
  readonly out: Output;
  readonly printer: EventPrinter;
  /** Every registered command, for `/help`. */
  readonly commands: readonly SlashCommand[];
  /** The channel plain text goes to. */
  current(): string | null;
  setCurrent(channel: string | null): void;
  /** A password: hidden prompt on a terminal, the next input line when scripted. */
  readSecret(question: string): Promise<string>;
  /** Channel names last seen in the directory (for completion). */
  rememberDirectory(channels: readonly string[]): void;
  /** Channel names last seen in the directory. */
  listedChannels(): ReadonlySet<string>;
  /** Ends the shell once the current command returns. */
  requestExit(): void;
}

export interface SlashArgs {
  /** The arguments split on white space. */
  words: string[];
  /** Everything after the command name, as typed (leading white space removed). */
  rest: string;
}

/** What tab completion offers for a command's arguments. */
export type ArgumentCompletion = "channels" | "joined" | "commands" | "none";

export interface SlashCommand {
  name: string;
  aliases?: readonly string[];
  /** e.g. `/join NAME [NAME...]` */
  usage: string;
  summary: string;
  /** Extra lines for `/help COMMAND`. */
  details?: readonly string[];
  completes: ArgumentCompletion;
  /**
   * Asks for a secret (`readSecret`): when scripted, the line after the command is taken as the
   * secret even when the command fails before asking, so it is never run as input of its own.
   */
  readsSecret?: boolean;
  run(context: SlashContext, args: SlashArgs): Promise<void>;
}

/** A command typed with the wrong arguments; printed as `error USAGE: usage: ...`. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly code = "USAGE";
  constructor(command: SlashCommand) {
    super(`usage: ${command.usage}`);
  }
}

/** A command that cannot run in the shell's current state; printed with its own code. */
export class ShellError extends Error {
  override name = "ShellError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The channel a command acts on: the one named, else the current one. */
export function channelOrCurrent(context: SlashContext, named: string | undefined): string {
  const channel = named ?? context.current();
  if (channel === null)
    throw new ShellError("NO_CHANNEL", "no current channel: name one, or /join NAME first");
  return channel;
}

/** `on`/`off` (also `true`/`false`, `yes`/`no`) as a boolean, or `undefined` when it is neither. */
export function parseSwitch(word: string | undefined): boolean | undefined {
  switch (word?.toLowerCase()) {
    case "on":
    case "true":
    case "yes":
      return true;
    case "off":
    case "false":
    case "no":
      return false;
    default:
      return undefined;
  }
}
