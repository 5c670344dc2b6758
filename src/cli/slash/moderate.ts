import { parseSwitch, type SlashCommand, type SlashContext, UsageError } from "./command.js";

export const moderateCommand: SlashCommand = {
  name: "moderate",
  usage: "/moderate NAME on|off",
  summary: "owner: in a moderated channel only the owner and authorized users may send",
  completes: "channels",
  async run(context, { words }) {
    const [channel, word] = words;
    const moderated = parseSwitch(word);
    if (channel === undefined || moderated === undefined) throw new UsageError(moderateCommand);
    const settings = await context.peer.setView(channel, await currentView(context, channel), moderated);
    context.printer.settings(channel, settings.view, settings.moderated);
  },
};

/** The channel's view as this peer hosts it, else as joined, else as the directory lists it. */
async function currentView(context: SlashContext, channel: string): Promise<"public" | "private"> {
  const known =
    context.peer.hostedChannels().find((item) => item.name === channel) ??
    context.peer.joinedChannels().find((item) => item.name === channel);
  if (known !== undefined) return known.view;
  const listed = (await context.peer.listChannels()).find((item) => item.name === channel);
  return listed?.view ?? "public";
}
