import { type SlashCommand, UsageError } from "./command.js";

export const hostCommand: SlashCommand = {
  name: "host",
  usage: "/host NAME [private] [moderated]",
  summary: "host a channel from this peer (public and not moderated unless told)",
  details: [
    "Hosted channels, their history and permissions survive a restart of the peer.",
    "Channel names are 1-64 of A-Z a-z 0-9 _ . -",
  ],
  completes: "none",
  async run(context, { words }) {
    const [channel, ...flags] = words;
    if (channel === undefined || flags.some((flag) => flag !== "private" && flag !== "moderated")) {
      throw new UsageError(hostCommand);
    }
    const hosted = await context.peer.host(channel, {
      view: flags.includes("private") ? "private" : "public",
      moderated: flags.includes("moderated"),
    });
    context.printer.hosting(hosted);
  },
};
