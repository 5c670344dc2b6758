import { parseSwitch, type SlashCommand, UsageError } from "./command.js";

export const invisibleCommand: SlashCommand = {
  name: "invisible",
  usage: "/invisible [on|off]",
  summary: "hide from member lists and the online list (you still receive everything); no argument: show",
  completes: "none",
  async run(context, { words }) {
    if (words.length === 0) {
      const identity = context.peer.identity;
      context.out.line(identity?.invisible === true ? "you are invisible" : "you are visible");
      return;
    }
    const invisible = parseSwitch(words[0]);
    if (invisible === undefined || words.length > 1) throw new UsageError(invisibleCommand);
    await context.peer.setInvisible(invisible);
    context.printer.identity(context.peer.identity);
  },
};
