import { type Completer, clearLine, createInterface, cursorTo, type Interface } from "node:readline";
import { Writable } from "node:stream";
import type { PromptLine } from "./format.js";

export interface TerminalOptions {
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WriteStream;
  completer?: Completer;
  /** Lines read ahead of the commands that will consume them; past this, input pauses (default 1000). */
  maxBufferedLines?: number;
  /** Lines kept in the interactive history (default 500). */
  historySize?: number;
}

export const DEFAULT_MAX_BUFFERED_LINES = 1000;
export const DEFAULT_HISTORY_SIZE = 500;

/**
 * Reads input one line at a time for the shell. On a terminal it shows a prompt, completes with
 * Tab and can read a line without echo; otherwise (a pipe or file) it reads plain lines, no prompt.
 */
export class Terminal implements PromptLine {
  readonly interactive: boolean;
  private readonly rl: Interface;
  private readonly output: NodeJS.WriteStream;
  private readonly echo: EchoStream | null;
  private readonly history: string[] = [];
  private readonly lines: string[] = [];
  private readonly maxBufferedLines: number;
  private waiter: ((line: string | null) => void) | null = null;
  private ended = false;
  private paused = false;
  private promptShown = false;
  private interruptHandler: () => void = () => undefined;

  constructor(options: TerminalOptions = {}) {
    const input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.maxBufferedLines = options.maxBufferedLines ?? DEFAULT_MAX_BUFFERED_LINES;
    this.interactive = input.isTTY === true && this.output.isTTY === true;
    if (this.interactive) {
      this.echo = new EchoStream(this.output);
      this.rl = createInterface({
        input,
        output: this.echo,
        terminal: true,
        history: this.history,
        historySize: options.historySize ?? DEFAULT_HISTORY_SIZE,
        ...(options.completer === undefined ? {} : { completer: options.completer }),
      });
      this.rl.on("SIGINT", () => this.onInterruptKey());
    } else {
      this.echo = null;
      this.rl = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
    }
    this.rl.on("line", (line) => this.onLine(line));
    this.rl.on("close", () => this.onClose());
  }

  /** Called on Ctrl-C with nothing typed (with text typed, Ctrl-C only clears the line). */
  onInterrupt(handler: () => void): void {
    this.interruptHandler = handler;
  }

  /** A prompt already on screen is redrawn, so it never names a channel that is no longer current. */
  setPrompt(text: string): void {
    this.rl.setPrompt(text);
    this.redraw();
  }

  /** Shows the prompt (terminal only). */
  showPrompt(): void {
    if (!this.interactive || this.ended) return;
    this.promptShown = true;
    this.rl.prompt(true);
  }

  clear(): void {
    if (!this.promptShown) return;
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
  }

  redraw(): void {
    if (this.promptShown && !this.ended) this.rl.prompt(true);
  }

  /** The next line of input; `null` at the end of input or after `close()`. */
  nextLine(): Promise<string | null> {
    const line = this.lines.shift();
    if (line !== undefined) {
      if (this.paused && this.lines.length < this.maxBufferedLines) {
        this.paused = false;
        this.rl.resume();
      }
      return Promise.resolve(line);
    }
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /**
   * Reads a secret: on a terminal, shows `question` and reads a line without echo (and keeps it
   * out of the history); otherwise it is simply the next line of input.
   */
  async readSecret(question: string): Promise<string | null> {
    if (this.echo === null) return this.nextLine();
    this.promptShown = false;
    this.output.write(question);
    this.echo.muted = true;
    try {
      const line = await this.nextLine();
      if (line !== null) {
        const index = this.history.indexOf(line);
        if (index >= 0) this.history.splice(index, 1);
      }
      return line;
    } finally {
      this.echo.muted = false;
      this.output.write("\n");
    }
  }

  close(): void {
    this.rl.close();
    this.echo?.detach();
  }

  private onLine(line: string): void {
    this.promptShown = false;
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter(line);
      return;
    }
    this.lines.push(line);
    if (!this.paused && this.lines.length >= this.maxBufferedLines) {
      this.paused = true;
      this.rl.pause();
    }
  }

  private onClose(): void {
    this.ended = true;
    this.promptShown = false;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.(null);
  }

  private onInterruptKey(): void {
    if (this.rl.line.length > 0) {
      this.rl.write(null, { ctrl: true, name: "u" });
      return;
    }
    this.interruptHandler();
  }
}

/**
 * What readline writes its echo to: the real terminal, except while muted (hidden input).
 * Writes pass through synchronously so they keep their order with the CLI's own output.
 */
class EchoStream extends Writable {
  muted = false;
  private readonly onResize = () => this.emit("resize");

  constructor(private readonly target: NodeJS.WriteStream) {
    super();
    target.on("resize", this.onResize);
  }

  get columns(): number {
    return this.target.columns;
  }

  get rows(): number {
    return this.target.rows;
  }

  detach(): void {
    this.target.off("resize", this.onResize);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.muted) this.target.write(chunk);
    callback();
  }
}
