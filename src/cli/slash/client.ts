import { channelOrCurrent, type SlashCommand } from "./command.js";

export const clientCommand: SlashCommand = {
  name: "client",
  aliases: ["info"],
  usage: "/client [NAME]",
  summary: "channel information from its host (the owner sees members, authorized users and more)",
  details: ["/info is the same command."],
  completes: "joined",
  async run(context, { words }) {
    const channel = channelOrCurrent(context, words[0]);
    context.out.sections({ [channel]: await context.peer.channelInfo(channel) });
  },
};
