#!/usr/bin/env node
import { Command } from "commander";
import { VERSION } from "../util/version.js";
import { peerCommand } from "./commands/peer.js";
import { trackerCommand } from "./commands/tracker.js";
import { upCommand } from "./commands/up.js";

// Before any file is made: every data file (keys, password hashes, history, logs) is the user's
// alone, also the ones a library underneath creates with default modes.
process.umask(0o077);

const program = new Command("hychat")
  .description("hychat: a tracker, peers that host channels, and clients that join them")
  .version(VERSION, "-V, --version")
  .showHelpAfterError()
  .addCommand(upCommand())
  .addCommand(trackerCommand())
  .addCommand(peerCommand());

await program.parseAsync(process.argv);
