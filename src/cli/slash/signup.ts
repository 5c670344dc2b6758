import { type SlashCommand, UsageError } from "./command.js";

export const signupCommand: SlashCommand = {
  name: "signup",
  usage: "/signup USER",
  summary: "create an account and sign in (password: hidden prompt, or the next input line when scripted)",
  details: ["Usernames are 1-32 of A-Z a-z 0-9 _ . - ; passwords at least 8 characters."],
  completes: "none",
  readsSecret: true,
  async run(context, { words }) {
    const [username] = words;
    if (username === undefined || words.length > 1) throw new UsageError(signupCommand);
    const password = await context.readSecret(`password for new account ${username}: `);
    context.printer.identity(await context.peer.signUp(username, password));
  },
};
