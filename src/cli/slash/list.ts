import type { SlashCommand } from "./command.js";

export const listCommand: SlashCommand = {
  name: "list",
  usage: "/list",
  summary:
    "the channel directory: name, owner, public/private, moderated, online (and how: direct or relay), members",
  completes: "none",
  async run(context) {
    const channels = await context.peer.listChannels();
    context.rememberDirectory(channels.map((channel) => channel.name));
    if (channels.length === 0) {
      context.out.line("no channels yet (/host NAME to start one)");
      return;
    }
    context.out.table(
      ["NAME", "OWNER", "VIEW", "MODERATED", "ONLINE", "MEMBERS", "ADDRESS"],
      channels.map((channel) => [
        channel.name,
        channel.owner,
        channel.view,
        channel.moderated ? "yes" : "no",
        channel.online
          ? channel.reach === "direct" || channel.reach === null
            ? "yes"
            : channel.reach
          : "no",
        String(channel.members),
        channel.address === null ? "-" : `${channel.address.host}:${channel.address.port}`,
      ]),
    );
  },
};
