import type { SlashCommand } from "./command.js";

export const onlineCommand: SlashCommand = {
  name: "online",
  usage: "/online",
  summary: "users online on the tracker (invisible ones are left out)",
  completes: "none",
  async run(context) {
    const users = await context.peer.onlineUsers();
    if (users.length === 0) {
      context.out.line("nobody online");
      return;
    }
    const names = users.map((user) => (user.role === "guest" ? `${user.username} (guest)` : user.username));
    context.out.line(`online (${users.length}): ${names.join(", ")}`);
  },
};
