import { ShellError, type SlashCommand, UsageError } from "./command.js";

export const switchCommand: SlashCommand = {
  name: "switch",
  usage: "/switch NAME",
  summary: "make a joined channel the current one (where plain text goes)",
  completes: "joined",
  async run(context, { words }) {
    const [name] = words;
    if (name === undefined || words.length > 1) throw new UsageError(switchCommand);
    const channel = context.peer.joinedChannels().find((item) => item.name === name);
    if (channel === undefined) throw new ShellError("NOT_JOINED", `not in ${name}: /join ${name} first`);
    context.setCurrent(channel.name);
    const unread = channel.unread > 0 ? ` (${channel.unread} unread above)` : "";
    context.peer.markRead(channel.name);
    context.out.line(`current channel: ${channel.name}${unread}`);
  },
};
