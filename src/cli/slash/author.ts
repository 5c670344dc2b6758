import { type SlashCommand, UsageError } from "./command.js";

export const authorCommand: SlashCommand = {
  name: "author",
  usage: "/author NAME USER [revoke]",
  summary: "owner: authorize USER in channel NAME (or revoke them); works while USER is offline",
  details: [
    "Authorized users may enter a private channel and send in a moderated one.",
    "Revoking a user in a private channel removes them from it.",
  ],
  completes: "channels",
  async run(context, { words }) {
    const [channel, username, revoke] = words;
    if (channel === undefined || username === undefined || (revoke !== undefined && revoke !== "revoke")) {
      throw new UsageError(authorCommand);
    }
    const grant = revoke === undefined;
    const authorized = await context.peer.authorize(channel, username, grant);
    context.out.line(`${grant ? "authorized" : "revoked"} ${username} in ${channel}`);
    context.out.line(
      `authorized in ${channel}: ${authorized.length === 0 ? "nobody" : authorized.join(", ")}`,
    );
  },
};
