import type { PeerApi, PeerEvent } from "../api/index.js";
import type { Logger } from "../util/logger.js";
import type { EventPrinter } from "./event-printer.js";
import { describeError, type Output } from "./format.js";
import { ShellError, type SlashCommand, type SlashContext } from "./slash/command.js";
import { findSlashCommand, SLASH_COMMANDS } from "./slash/registry.js";
import { sendText } from "./slash/send.js";
import type { Terminal } from "./terminal.js";

export interface ShellOptions {
  peer: PeerApi;
  terminal: Terminal;
  out: Output;
  printer: EventPrinter;
  logger: Logger;
  commands?: readonly SlashCommand[];
  /** At the end of scripted input, how long to wait for the outbox of reachable channels to empty (default 10 s). */
  drainTimeoutMs?: number;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** An unknown command is echoed in its error up to this many characters. */
const MAX_SHOWN_COMMAND = 32;

/**
 * The interactive shell: reads a line, runs it (a slash command, or text for the current
 * channel) and waits for it to finish before reading the next, so a script of commands runs in
 * order. Errors are printed as `error CODE: message`; none of them ends the shell.
 */
export class Shell {
  private readonly peer: PeerApi;
  private readonly terminal: Terminal;
  private readonly out: Output;
  private readonly logger: Logger;
  private readonly commands: readonly SlashCommand[];
  private readonly context: SlashContext;
  private readonly directory = new Set<string>();
  private readonly drainTimeoutMs: number;
  private currentChannel: string | null = null;
  private exitRequested = false;
  private endDrain: (() => void) | undefined;
  /** Secrets asked for so far: tells whether a command that takes one got to ask. */
  private secretsRead = 0;

  constructor(options: ShellOptions) {
    this.peer = options.peer;
    this.terminal = options.terminal;
    this.out = options.out;
    this.logger = options.logger;
    this.commands = options.commands ?? SLASH_COMMANDS;
    this.drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.context = {
      peer: options.peer,
      out: options.out,
      printer: options.printer,
      commands: this.commands,
      current: () => this.currentChannel,
      setCurrent: (channel) => this.setCurrent(channel),
      readSecret: (question) => this.readSecret(question),
      rememberDirectory: (channels) => this.rememberDirectory(channels),
      listedChannels: () => this.directory,
      requestExit: () => this.stop(),
    };
  }

  current(): string | null {
    return this.currentChannel;
  }

  /** Runs until `/exit`, the end of input, Ctrl-C on an empty line, or `stop()`. */
  async run(): Promise<void> {
    const unsubscribe = this.peer.subscribe((event) => this.onEvent(event));
    this.terminal.onInterrupt(() => this.stop());
    if (this.terminal.interactive) this.out.attachPrompt(this.terminal);
    this.currentChannel = this.peer.joinedChannels()[0]?.name ?? null;
    this.updatePrompt();
    try {
      while (!this.exitRequested) {
        this.terminal.showPrompt();
        const line = await this.terminal.nextLine();
        if (line === null) {
          // A script's last messages may still wait in the outbox (rate limits): let them go first.
          if (!this.terminal.interactive) await this.drainOutbox();
          break;
        }
        await this.execute(line);
      }
    } finally {
      unsubscribe();
      this.out.attachPrompt(null);
      this.terminal.close();
    }
  }

  /** Ends the shell after the command in progress; input waiting for it ends at once. */
  stop(): void {
    this.exitRequested = true;
    this.terminal.close();
    this.endDrain?.();
  }

  /** One line of input: a slash command, or text for the current channel. */
  async execute(line: string): Promise<void> {
    const text = line.trim();
    if (text === "") return;
    try {
      if (text.startsWith("/") && !text.startsWith("//")) {
        await this.runCommand(text);
        return;
      }
      if (this.context.peer.identity === null) {
        throw new ShellError("NOT_SIGNED_IN", "not signed in: /signin USER, /signup USER or /guest first");
      }
      const channel = this.currentChannel;
      if (channel === null) throw new ShellError("NO_CHANNEL", "no current channel: /join NAME first");
      await sendText(this.context, channel, text.startsWith("//") ? text.slice(1) : text);
    } catch (error) {
      this.logFailure(text, error);
      this.out.failure(error);
    }
  }

  /** Tab completion: command names after `/`, channel names for the arguments of some commands. */
  complete(line: string): [string[], string] {
    const commandOnly = /^\/(\S*)$/.exec(line);
    if (commandOnly !== null) {
      const prefix = (commandOnly[1] ?? "").toLowerCase();
      const names = this.commands.flatMap((command) => [command.name, ...(command.aliases ?? [])]);
      return [names.filter((name) => name.startsWith(prefix)).map((name) => `/${name} `), line];
    }
    const withArgument = /^\/(\S+)\s+(?:.*\s)?(\S*)$/.exec(line);
    const command =
      withArgument === null ? undefined : findSlashCommand(withArgument[1] ?? "", this.commands);
    const word = withArgument?.[2] ?? "";
    if (command === undefined) return [[], line];
    return [this.candidates(command).filter((name) => name.startsWith(word)), word];
  }

  private async runCommand(text: string): Promise<void> {
    const [, name = "", rest = ""] = /^\/(\S+)\s*([\s\S]*)$/.exec(text) ?? [];
    const command = findSlashCommand(name, this.commands);
    if (command === undefined) {
      const shown = name.length > MAX_SHOWN_COMMAND ? `${name.slice(0, MAX_SHOWN_COMMAND)}…` : name;
      throw new ShellError("UNKNOWN_COMMAND", `unknown command /${shown} (try /help)`);
    }
    const words = rest.split(/\s+/).filter((word) => word !== "");
    const secretsBefore = this.secretsRead;
    try {
      await command.run(this.context, { words, rest });
    } finally {
      // Scripted, the secret is the next line whether or not the command got to ask for it
      // (`/signin bob now`): run as input, it would be sent to a channel or logged.
      if (command.readsSecret === true && this.secretsRead === secretsBefore && !this.terminal.interactive) {
        await this.terminal.nextLine();
      }
    }
  }

  /**
   * Logs a failed line without any of its text, which may be a password or a private message:
   * only the command's name and the error's code (and the error itself when it is not a coded
   * one, which means a bug and comes from code, not input).
   */
  private logFailure(text: string, error: unknown): void {
    const { code } = describeError(error);
    const command = text.startsWith("/") && !text.startsWith("//") ? this.commandName(text) : "(text)";
    if (code === "INTERNAL_ERROR") this.logger.debug({ err: error, command }, "shell command failed");
    else this.logger.debug({ code, command }, "shell command failed");
  }

  /** The registered name of the command on `text`, or `(unknown)`: never what was typed. */
  private commandName(text: string): string {
    const name = /^\/(\S+)/.exec(text)?.[1] ?? "";
    const command = findSlashCommand(name, this.commands);
    return command === undefined ? "(unknown)" : `/${command.name}`;
  }

  private candidates(command: SlashCommand): string[] {
    const joined = this.peer.joinedChannels().map((channel) => channel.name);
    switch (command.completes) {
      case "joined":
        return joined;
      case "channels": {
        const hosted = this.peer.hostedChannels().map((channel) => channel.name);
        return [...new Set([...joined, ...hosted, ...this.directory])].sort();
      }
      case "commands":
        return this.commands.map((item) => item.name);
      case "none":
        return [];
    }
  }

  /**
   * Resolves once no channel that is reachable, or still being connected to, has messages in the
   * outbox, or after `drainTimeoutMs`. Channels whose host is unreachable keep theirs for next time.
   */
  private drainOutbox(): Promise<void> {
    const waiting = () => {
      const deliverable = new Set(
        this.peer
          .joinedChannels()
          .filter((channel) => channel.state !== "unreachable")
          .map((channel) => channel.name),
      );
      return this.peer.outbox().some((entry) => deliverable.has(entry.channel));
    };
    if (this.exitRequested || !waiting()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        this.endDrain = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.drainTimeoutMs);
      const unsubscribe = this.peer.subscribe(() => {
        if (!waiting()) finish();
      });
      this.endDrain = finish;
    });
  }

  private async readSecret(question: string): Promise<string> {
    this.secretsRead += 1;
    this.out.flush();
    const secret = await this.terminal.readSecret(question);
    if (secret === null) throw new ShellError("NO_INPUT", "input ended before the password");
    return secret;
  }

  private rememberDirectory(channels: readonly string[]): void {
    this.directory.clear();
    for (const channel of channels) this.directory.add(channel);
  }

  private setCurrent(channel: string | null): void {
    this.currentChannel = channel;
    this.updatePrompt();
  }

  private updatePrompt(): void {
    this.terminal.setPrompt(this.currentChannel === null ? "> " : `${this.currentChannel}> `);
  }

  private onEvent(event: PeerEvent): void {
    switch (event.type) {
      case "directory":
        this.rememberDirectory(event.channels.map((channel) => channel.name));
        return;
      case "joined":
        if (this.currentChannel === null) this.setCurrent(event.channel.name);
        return;
      case "left":
        if (this.currentChannel === event.channel) {
          const next = this.peer.joinedChannels().find((channel) => channel.name !== event.channel);
          this.setCurrent(next?.name ?? null);
        }
        return;
      case "identity":
        if (event.identity === null) this.setCurrent(null);
        return;
      default:
        return;
    }
  }
}
