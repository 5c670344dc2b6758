import type { SlashCommand } from "./command.js";

export const debugCommand: SlashCommand = {
  name: "debug",
  usage: "/debug",
  summary: "debug information: local client state, host state, tracker state (RET_INFO)",
  completes: "none",
  async run(context) {
    const info = await context.peer.debugInfo();
    context.out.sections({ client: info.client, host: info.host, tracker: info.tracker });
  },
};
