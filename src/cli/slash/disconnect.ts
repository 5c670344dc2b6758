import { channelOrCurrent, type SlashCommand } from "./command.js";

export const disconnectCommand: SlashCommand = {
  name: "disconnect",
  aliases: ["leave"],
  usage: "/disconnect [NAME]",
  summary: "leave NAME (default: the current channel)",
  completes: "joined",
  async run(context, { words }) {
    await context.peer.leave(channelOrCurrent(context, words[0]));
  },
};
