import type { SlashCommand } from "./command.js";

export const exitCommand: SlashCommand = {
  name: "exit",
  aliases: ["quit"],
  usage: "/exit",
  summary: "close the peer and quit (joined channels and the outbox are kept for next time)",
  completes: "none",
  async run(context) {
    context.requestExit();
  },
};
