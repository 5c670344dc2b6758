import { type SlashCommand, UsageError } from "./command.js";

export const viewCommand: SlashCommand = {
  name: "view",
  usage: "/view NAME public|private",
  summary: "owner: make a channel public or private (private removes everyone not authorized)",
  completes: "channels",
  async run(context, { words }) {
    const [channel, view] = words;
    if (channel === undefined || (view !== "public" && view !== "private")) throw new UsageError(viewCommand);
    const settings = await context.peer.setView(channel, view);
    context.printer.settings(channel, settings.view, settings.moderated);
  },
};
