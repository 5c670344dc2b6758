import type { z } from "zod";
import type { CommandHandler } from "../../protocol/dispatcher.js";
import { helloCommand } from "../../protocol/hello.js";
import type { HostCommand } from "../../protocol/host-schemas.js";
import type { HostContext } from "../context.js";
import type { MemberConnection } from "../member-connection.js";
import { authorizeCommand } from "./authorize.js";
import { cacheCommand } from "./cache.js";
import { connectCommand } from "./connect.js";
import { disconnectCommand } from "./disconnect.js";
import { historyCommand } from "./history.js";
import { invisibleCommand } from "./invisible.js";
import { messageCommand } from "./message.js";
import { pingCommand } from "./ping.js";
import { retInfoCommand } from "./ret-info.js";
import { viewCommand } from "./view.js";

/** Every host command, by name, for the dispatcher. */
export function hostCommands(
  context: HostContext,
): Record<HostCommand, CommandHandler<MemberConnection, z.ZodType>> {
  return {
    HELLO: helloCommand<MemberConnection>("host"),
    CONNECT: connectCommand(context),
    DISCONNECT: disconnectCommand(context),
    MESSAGE: messageCommand(context),
    CACHE: cacheCommand(context),
    HISTORY: historyCommand(context),
    VIEW: viewCommand(context),
    AUTHORIZE: authorizeCommand(context),
    INVISIBLE: invisibleCommand(context),
    RET_INFO: retInfoCommand(context),
    PING: pingCommand(),
  };
}
