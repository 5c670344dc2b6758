import { clock, displayText } from "../format.js";
import { ShellError, type SlashCommand, UsageError } from "./command.js";

export const outboxCommand: SlashCommand = {
  name: "outbox",
  usage: "/outbox [drop N]",
  summary: "messages waiting to be delivered, in every channel; drop N discards message N",
  details: [
    "Each message keeps its number N until an earlier one leaves the outbox.",
    "A message to a channel that is online is being delivered and cannot be dropped.",
  ],
  completes: "none",
  async run(context, { words }) {
    const entries = context.peer.outbox();
    if (words[0] === "drop") {
      const n = Number(words[1]);
      if (words.length !== 2 || !Number.isInteger(n) || n < 1) throw new UsageError(outboxCommand);
      const entry = entries[n - 1];
      if (entry === undefined)
        throw new ShellError("USAGE", `no message ${n}: the outbox holds ${entries.length}`);
      await context.peer.cancelPending(entry.msgId);
      return;
    }
    if (words.length > 0) throw new UsageError(outboxCommand);
    if (entries.length === 0) {
      context.out.line("the outbox is empty");
      return;
    }
    const joined = new Map(context.peer.joinedChannels().map((channel) => [channel.name, channel.state]));
    context.out.table(
      ["N", "CHANNEL", "STATE", "WRITTEN", "TEXT"],
      entries.map((entry, index) => [
        String(index + 1),
        entry.channel,
        joined.get(entry.channel) ?? "not joined",
        clock(entry.sentAt),
        displayText(entry.text).replace(/\s+/g, " "),
      ]),
    );
  },
};
