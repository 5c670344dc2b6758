import type { SlashCommand } from "./command.js";

export const signoutCommand: SlashCommand = {
  name: "signout",
  aliases: ["logout"],
  usage: "/signout",
  summary: "leave every channel, stop hosting and forget the saved session",
  completes: "none",
  async run(context) {
    await context.peer.signOut();
    context.setCurrent(null);
    context.printer.identity(null);
  },
};
