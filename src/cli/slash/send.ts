import { ShellError, type SlashCommand, type SlashContext, UsageError } from "./command.js";

export const sendCommand: SlashCommand = {
  name: "send",
  usage: "/send [CHANNEL] TEXT",
  summary: "send TEXT to CHANNEL (a joined one), else to the current channel",
  details: [
    "The first word is taken as the channel only when it names a joined channel and text follows.",
    "Plain text (not starting with /) goes to the current channel; start it with // to send a /.",
  ],
  completes: "joined",
  async run(context, { words, rest }) {
    const first = words[0];
    if (first === undefined) throw new UsageError(sendCommand);
    const joined = context.peer.joinedChannels().some((channel) => channel.name === first);
    if (joined && words.length > 1) {
      await sendText(context, first, rest.slice(first.length).trimStart());
      return;
    }
    const current = context.current();
    if (current === null) throw new ShellError("NO_CHANNEL", "no current channel: /join NAME first");
    await sendText(context, current, rest);
  },
};

/** Sends and reports the outcome; the message itself is printed from the peer's events. */
export async function sendText(context: SlashContext, channel: string, text: string): Promise<void> {
  const outcome = await context.peer.send(channel, text);
  if (outcome.status === "queued") {
    const entry = context.peer.outbox(channel).find((item) => item.msgId === outcome.msgId);
    if (entry !== undefined) context.printer.queued(entry.channel, entry.msgId, entry.sentAt, entry.text);
  }
}
