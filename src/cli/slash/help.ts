import { ShellError, type SlashCommand } from "./command.js";

export const helpCommand: SlashCommand = {
  name: "help",
  usage: "/help [COMMAND]",
  summary: "list the commands, or explain one",
  completes: "commands",
  async run(context, { words }) {
    const wanted = words[0]?.replace(/^\//, "");
    if (wanted !== undefined) {
      const command = context.commands.find((item) => item.name === wanted || item.aliases?.includes(wanted));
      if (command === undefined) throw new ShellError("UNKNOWN_COMMAND", `no command /${wanted} (try /help)`);
      const aliases = command.aliases?.map((alias) => `/${alias}`).join(", ");
      context.out.line(
        [
          command.usage,
          `  ${command.summary}`,
          ...(command.details ?? []).map((line) => `  ${line}`),
          ...(aliases === undefined ? [] : [`  also: ${aliases}`]),
        ].join("\n"),
      );
      return;
    }
    const width = Math.max(...context.commands.map((command) => command.usage.length));
    context.out.line(
      [
        ...context.commands.map((command) => `${command.usage.padEnd(width)}  ${command.summary}`),
        "Plain text goes to the current channel (start it with // to send a leading /).",
      ].join("\n"),
    );
  },
};
