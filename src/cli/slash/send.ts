import { CHANNEL_PATTERN } from "../../protocol/names.js";
import { ShellError, type SlashCommand, type SlashContext, UsageError } from "./command.js";

export const sendCommand: SlashCommand = {
  name: "send",
  usage: "/send [CHANNEL] TEXT",
  summary: "send TEXT to CHANNEL (joined or not yet), else to the current channel",
  details: [
    "The first word is taken as the channel when text follows and it names a joined or listed channel,",
    "or when there is no current channel. A message to a channel not joined yet waits in the outbox",
    "(pending: join CHANNEL to deliver) and goes out when you /join it; /outbox lists what waits.",
    "Plain text (not starting with /) goes to the current channel; start it with // to send a /.",
  ],
  completes: "channels",
  async run(context, { words, rest }) {
    const first = words[0];
    if (first === undefined) throw new UsageError(sendCommand);
    const current = context.current();
    if (words.length > 1 && CHANNEL_PATTERN.test(first) && (current === null || names(context).has(first))) {
      await sendText(context, first, rest.slice(first.length).trimStart());
      return;
    }
    if (current === null)
      throw new ShellError("NO_CHANNEL", "no current channel: /send CHANNEL TEXT, or /join NAME first");
    await sendText(context, current, rest);
  },
};

/** The channels `/send` recognises as its first word: joined and listed ones. */
function names(context: SlashContext): Set<string> {
  const joined = context.peer.joinedChannels().map((channel) => channel.name);
  return new Set([...joined, ...context.listedChannels()]);
}

/** Sends; the message, or its pending line, is printed from the peer's events. */
export async function sendText(context: SlashContext, channel: string, text: string): Promise<void> {
  await context.peer.send(channel, text);
}
