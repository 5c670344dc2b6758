import { channelOrCurrent, type SlashCommand, UsageError } from "./command.js";

/** Messages per page when `/retrieve` is given no count. */
export const DEFAULT_RETRIEVE = 20;
/** The most a host returns in one page (docs/protocol.md, `HISTORY` limit). */
const MAX_RETRIEVE = 500;

export const retrieveCommand: SlashCommand = {
  name: "retrieve",
  aliases: ["history"],
  usage: "/retrieve [N]",
  summary: `page back through the current channel: the N (default ${DEFAULT_RETRIEVE}) messages before the oldest seen`,
  details: ["/history is the same command; each call goes further back."],
  completes: "none",
  async run(context, { words }) {
    const count = words[0] === undefined ? DEFAULT_RETRIEVE : Number(words[0]);
    if (!Number.isInteger(count) || count < 1 || count > MAX_RETRIEVE || words.length > 1) {
      throw new UsageError(retrieveCommand);
    }
    const channel = channelOrCurrent(context, undefined);
    const page = await context.peer.history(channel, { limit: count });
    if (page.messages.length === 0) {
      context.out.line(`no older messages in ${channel}`);
      return;
    }
    context.out.notice(`older messages in ${channel}:`);
    const me = context.peer.identity?.username;
    for (const message of page.messages) context.out.message(message, { own: message.from === me });
    if (!page.hasMore) context.out.notice(`that is the start of ${channel}`);
  },
};
