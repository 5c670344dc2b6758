import { type SlashCommand, UsageError } from "./command.js";

export const unhostCommand: SlashCommand = {
  name: "unhost",
  usage: "/unhost NAME",
  summary: "stop hosting a channel and remove it from the directory",
  completes: "channels",
  async run(context, { words }) {
    const [channel] = words;
    if (channel === undefined || words.length > 1) throw new UsageError(unhostCommand);
    await context.peer.unhost(channel);
    context.printer.unhosted(channel);
  },
};
