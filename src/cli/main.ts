#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../util/version.js";
import { peerCommand } from "./commands/peer.js";
import { trackerCommand } from "./commands/tracker.js";
import { upCommand } from "./commands/up.js";

const program = new Command("hychat")
  .description("hychat: a tracker, peers that host channels, and clients that join them")
  .version(VERSION, "-V, --version")
  .showHelpAfterError()
  .addCommand(upCommand())
  .addCommand(trackerCommand())
  .addCommand(peerCommand());

await program.parseAsync(process.argv);
