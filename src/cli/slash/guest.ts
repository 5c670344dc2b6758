import { type SlashCommand, UsageError } from "./command.js";

export const guestCommand: SlashCommand = {
  name: "guest",
  usage: "/guest [NAME]",
  summary: "enter as guest-NAME (the tracker picks a name when none is given); guests only read",
  completes: "none",
  async run(context, { words }) {
    if (words.length > 1) throw new UsageError(guestCommand);
    context.printer.identity(await context.peer.guest(words[0]));
  },
};
