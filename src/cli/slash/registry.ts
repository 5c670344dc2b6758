import { authorCommand } from "./author.js";
import { clientCommand } from "./client.js";
import type { SlashCommand } from "./command.js";
import { connectedCommand } from "./connected.js";
import { debugCommand } from "./debug.js";
import { disconnectCommand } from "./disconnect.js";
import { exitCommand } from "./exit.js";
import { guestCommand } from "./guest.js";
import { helpCommand } from "./help.js";
import { hostCommand } from "./host.js";
import { invisibleCommand } from "./invisible.js";
import { joinCommand } from "./join.js";
import { listCommand } from "./list.js";
import { moderateCommand } from "./moderate.js";
import { onlineCommand } from "./online.js";
import { outboxCommand } from "./outbox.js";
import { refreshCommand } from "./refresh.js";
import { retrieveCommand } from "./retrieve.js";
import { sendCommand } from "./send.js";
import { signinCommand } from "./signin.js";
import { signoutCommand } from "./signout.js";
import { signupCommand } from "./signup.js";
import { switchCommand } from "./switch.js";
import { unhostCommand } from "./unhost.js";
import { viewCommand } from "./view.js";

/** Every slash command of the shell, in the order `/help` lists them. */
export const SLASH_COMMANDS: readonly SlashCommand[] = [
  listCommand,
  joinCommand,
  switchCommand,
  connectedCommand,
  sendCommand,
  outboxCommand,
  retrieveCommand,
  refreshCommand,
  disconnectCommand,
  onlineCommand,
  clientCommand,
  hostCommand,
  unhostCommand,
  viewCommand,
  moderateCommand,
  authorCommand,
  invisibleCommand,
  signupCommand,
  signinCommand,
  guestCommand,
  signoutCommand,
  debugCommand,
  helpCommand,
  exitCommand,
];

/** The command called `name` or aliased so (without the leading `/`). */
export function findSlashCommand(
  name: string,
  commands: readonly SlashCommand[] = SLASH_COMMANDS,
): SlashCommand | undefined {
  const key = name.toLowerCase();
  return commands.find((command) => command.name === key || command.aliases?.includes(key));
}
