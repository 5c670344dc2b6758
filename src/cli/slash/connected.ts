import type { SlashCommand } from "./command.js";

export const connectedCommand: SlashCommand = {
  name: "connected",
  usage: "/connected",
  summary: "joined channels with their link state, unread and pending message counts",
  details: ["Channels not joined that have messages waiting in the outbox are listed too, as not joined."],
  completes: "none",
  async run(context) {
    const channels = context.peer.joinedChannels();
    const joined = new Set(channels.map((channel) => channel.name));
    const waiting = new Map<string, number>();
    for (const entry of context.peer.outbox()) {
      if (!joined.has(entry.channel)) waiting.set(entry.channel, (waiting.get(entry.channel) ?? 0) + 1);
    }
    if (channels.length === 0 && waiting.size === 0) {
      context.out.line("not in any channel (/join NAME)");
      return;
    }
    const current = context.current();
    context.out.table(
      ["", "NAME", "STATE", "UNREAD", "PENDING", "ROLE", "MEMBERS"],
      [
        ...channels.map((channel) => [
          channel.name === current ? "*" : "",
          channel.name,
          channel.state,
          String(channel.unread),
          String(channel.pending),
          channel.owner === context.peer.identity?.username ? "owner" : channel.role,
          String(channel.members.length),
        ]),
        ...[...waiting].map(([name, count]) => ["", name, "not joined", "", String(count), "", ""]),
      ],
    );
  },
};
