import type { SlashCommand } from "./command.js";
import { listCommand } from "./list.js";

/** Messages reprinted by `/refresh`. */
export const REFRESH_MESSAGES = 20;

export const refreshCommand: SlashCommand = {
  name: "refresh",
  usage: "/refresh",
  summary: `list the channels again and reprint the current channel's last ${REFRESH_MESSAGES} messages`,
  completes: "none",
  async run(context, args) {
    await listCommand.run(context, args);
    const current = context.current();
    const channel = context.peer.joinedChannels().find((item) => item.name === current);
    if (channel === undefined) return;
    if (channel.latestSeq === 0) {
      context.out.line(`no messages in ${channel.name} yet`);
      return;
    }
    const page = await context.peer.history(channel.name, {
      before: channel.latestSeq + 1,
      limit: REFRESH_MESSAGES,
    });
    const me = context.peer.identity?.username;
    for (const message of page.messages) context.out.message(message, { own: message.from === me });
    context.peer.markRead(channel.name);
  },
};
