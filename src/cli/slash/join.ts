import { type SlashCommand, UsageError } from "./command.js";

export const joinCommand: SlashCommand = {
  name: "join",
  usage: "/join NAME [NAME...]",
  summary: "join one or more channels; the last one becomes the current channel",
  details: [
    "On joining you see the latest messages; on rejoining, every message missed while away.",
    "While a channel's host is unreachable, the peer keeps trying and messages wait in the outbox.",
  ],
  completes: "channels",
  async run(context, { words }) {
    if (words.length === 0) throw new UsageError(joinCommand);
    // One channel that cannot be joined does not keep the others from being joined.
    for (const name of words) {
      try {
        const channel = await context.peer.join(name);
        context.setCurrent(channel.name);
      } catch (error) {
        if (words.length === 1) throw error;
        context.out.failure(error);
      }
    }
  },
};
