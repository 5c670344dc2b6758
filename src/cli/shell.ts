import type { PeerApi, PeerEvent } from "../peer/types.js";
import type { Logger } from "../util/logger.js";
import type { EventPrinter } from "./event-printer.js";
import type { Output } from "./format.js";
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
}

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
  private currentChannel: string | null = null;
  private exitRequested = false;

  constructor(options: ShellOptions) {
    this.peer = options.peer;
    this.terminal = options.terminal;
    this.out = options.out;
    this.logger = options.logger;
    this.commands = options.commands ?? SLASH_COMMANDS;
    this.context = {
      peer: options.peer,
      out: options.out,
      printer: options.printer,
      commands: this.commands,
      current: () => this.currentChannel,
      setCurrent: (channel) => this.setCurrent(channel),
      readSecret: (question) => this.readSecret(question),
      rememberDirectory: (channels) => this.rememberDirectory(channels),
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
        if (line === null) break;
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
      const channel = this.currentChannel;
      if (channel === null) throw new ShellError("NO_CHANNEL", "no current channel: /join NAME first");
      await sendText(this.context, channel, text.startsWith("//") ? text.slice(1) : text);
    } catch (error) {
      this.logger.debug({ err: error, line: text.slice(0, 80) }, "shell command failed");
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
    if (command === undefined)
      throw new ShellError("UNKNOWN_COMMAND", `unknown command /${name} (try /help)`);
    const words = rest.split(/\s+/).filter((word) => word !== "");
    await command.run(this.context, { words, rest });
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

  private async readSecret(question: string): Promise<string> {
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
