import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { Terminal } from "../../src/cli/terminal.js";

/** A pair of streams that readline takes for a terminal, and everything written to the screen. */
function fakeTerminal(): { terminal: Terminal; input: PassThrough; screen(): string } {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80, rows: 24 });
  let written = "";
  output.on("data", (chunk: Buffer) => {
    written += chunk.toString("utf8");
  });
  const terminal = new Terminal({ input, output: output as unknown as NodeJS.WriteStream });
  return { terminal, input, screen: () => written };
}

describe("cli terminal", () => {
  test("cli - a prompt on screen is redrawn when it changes", () => {
    const { terminal, screen } = fakeTerminal();
    try {
      assert.equal(terminal.interactive, true);
      terminal.setPrompt("first> ");
      terminal.showPrompt();
      const before = screen().length;
      terminal.setPrompt("second> ");
      assert.match(screen().slice(before), /second> /);
    } finally {
      terminal.close();
    }
  });

  test("cli - a prompt not yet shown is not drawn by a change", () => {
    const { terminal, screen } = fakeTerminal();
    try {
      terminal.setPrompt("first> ");
      assert.equal(screen().includes("first> "), false);
    } finally {
      terminal.close();
    }
  });
});
