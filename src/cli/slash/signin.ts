import { type SlashCommand, UsageError } from "./command.js";

export const signinCommand: SlashCommand = {
  name: "signin",
  aliases: ["login"],
  usage: "/signin USER",
  summary: "sign in (password: hidden prompt, or the next input line when scripted)",
  completes: "none",
  readsSecret: true,
  async run(context, { words }) {
    const [username] = words;
    if (username === undefined || words.length > 1) throw new UsageError(signinCommand);
    const password = await context.readSecret(`password for ${username}: `);
    context.printer.identity(await context.peer.signIn(username, password));
  },
};
