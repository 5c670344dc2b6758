import type { z } from "zod";
import { type CommandHandler, Dispatcher } from "../protocol/dispatcher.js";
import { helloCommand } from "../protocol/hello.js";
import type { TrackerCommand, trackerBodySchemas } from "../protocol/tracker-schemas.js";
import { guestCommand } from "./commands/guest.js";
import { hostCommand } from "./commands/host.js";
import { invisibleCommand } from "./commands/invisible.js";
import { keyCommand } from "./commands/key.js";
import { listCommand } from "./commands/list.js";
import { membersCommand } from "./commands/members.js";
import { onlineCommand } from "./commands/online.js";
import { pingCommand } from "./commands/ping.js";
import { relayAcceptCommand, relayDialCommand } from "./commands/relay.js";
import { renewCommand } from "./commands/renew.js";
import { resumeCommand } from "./commands/resume.js";
import { retInfoCommand } from "./commands/ret-info.js";
import { revocationsCommand } from "./commands/revocations.js";
import { signinCommand } from "./commands/signin.js";
import { signoutCommand } from "./commands/signout.js";
import { signupCommand } from "./commands/signup.js";
import { unhostCommand } from "./commands/unhost.js";
import { viewCommand } from "./commands/view.js";
import type { TrackerContext } from "./context.js";
import type { PeerConnection } from "./peer-connection.js";

type TrackerHandlers = {
  [C in TrackerCommand]: CommandHandler<PeerConnection, (typeof trackerBodySchemas)[C] & z.ZodType>;
};

/** Every tracker command behind one dispatcher: validate, authorize, apply. */
export function createTrackerDispatcher(tracker: TrackerContext): Dispatcher<PeerConnection> {
  const handlers: TrackerHandlers = {
    HELLO: helloCommand<PeerConnection>("tracker"),
    SIGNUP: signupCommand(tracker),
    SIGNIN: signinCommand(tracker),
    GUEST: guestCommand(tracker),
    RESUME: resumeCommand(tracker),
    RENEW: renewCommand(tracker),
    SIGNOUT: signoutCommand(tracker),
    REVOCATIONS: revocationsCommand(tracker),
    KEY: keyCommand(tracker),
    LIST: listCommand(tracker),
    ONLINE: onlineCommand(tracker),
    HOST: hostCommand(tracker),
    UNHOST: unhostCommand(tracker),
    VIEW: viewCommand(tracker),
    MEMBERS: membersCommand(tracker),
    INVISIBLE: invisibleCommand(tracker),
    RET_INFO: retInfoCommand(tracker),
    PING: pingCommand(),
    RELAY_DIAL: relayDialCommand(tracker),
    RELAY_ACCEPT: relayAcceptCommand(tracker),
  };
  return new Dispatcher<PeerConnection>(handlers, {
    isSignedIn: (session) => session.signedIn,
    onInternalError: (error, command) =>
      tracker.logger.error({ err: error, command }, "tracker command failed"),
  });
}
