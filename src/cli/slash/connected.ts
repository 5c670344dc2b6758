import type { SlashCommand } from "./command.js";

export const connectedCommand: SlashCommand = {
  name: "connected",
  usage: "/connected",
  summary: "joined channels with their link state, unread and pending message counts",
  completes: "none",
  async run(context) {
    const channels = context.peer.joinedChannels();
    if (channels.length === 0) {
      context.out.line("not in any channel (/join NAME)");
      return;
    }
    const current = context.current();
    context.out.table(
      ["", "NAME", "STATE", "UNREAD", "PENDING", "ROLE", "MEMBERS"],
      channels.map((channel) => [
        channel.name === current ? "*" : "",
        channel.name,
        channel.state,
        String(channel.unread),
        String(channel.pending),
        channel.owner === context.peer.identity?.username ? "owner" : channel.role,
        String(channel.members.length),
      ]),
    );
  },
};
