import pc from "picocolors";
import type { ChatMessage } from "../protocol/host-schemas.js";

/** Output formatting for the CLI, and the one writer of its standard output. */

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only on a terminal, and never when `NO_COLOR` is set to anything non-empty. */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? "") === "";
}

/** Something that owns an input line on screen and can move it out of the way of output. */
export interface PromptLine {
  /** Erases the prompt and the text being typed, if shown. */
  clear(): void;
  /** Draws them again, cursor where it was. */
  redraw(): void;
}

/** Lines longer than this in a `delivered` or `not delivered` notice are cut. */
const SNIPPET_CHARS = 40;

/**
 * Everything the CLI prints. Lines are gathered and written once per turn of the event loop: a
 * catch-up of thousands of messages is a few writes (and one prompt redraw), not one per line.
 */
export class Output {
  readonly colors: Colors;
  private prompt: PromptLine | null = null;
  private queued: string[] = [];
  private flushTimer: NodeJS.Immediate | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    color: boolean,
  ) {
    this.colors = pc.createColors(color);
  }

  attachPrompt(prompt: PromptLine | null): void {
    this.flush();
    this.prompt = prompt;
  }

  /** Writes one or more lines above the prompt (this turn, with the others), without breaking the line being typed. */
  line(text: string): void {
    this.queued.push(text);
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Writes the lines gathered so far now: before something else writes to the terminal, and at exit. */
  flush(): void {
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    if (this.queued.length === 0) return;
    const text = `${this.queued.join("\n")}\n`;
    this.queued = [];
    this.prompt?.clear();
    this.stream.write(text);
    this.prompt?.redraw();
  }

  error(code: string, message: string): void {
    this.line(this.colors.red(`error ${oneLine(code)}: ${oneLine(message)}`));
  }

  /** Any thrown error as `error CODE: message`. */
  failure(error: unknown): void {
    const { code, message } = describeError(error);
    this.error(code, message);
  }

  notice(text: string): void {
    this.line(this.colors.dim(displayText(text)));
  }

  warn(text: string): void {
    this.line(this.colors.yellow(`warning: ${oneLine(text)}`));
  }

  message(message: ChatMessage, options: { own: boolean }): void {
    this.line(
      this.formatMessage(message.channel, message.ts, message.from, message.text, options.own, false),
    );
  }

  /** A message kept in the outbox, not yet acknowledged by its host. */
  pending(channel: string, sentAt: string, from: string, text: string): void {
    this.line(this.formatMessage(channel, sentAt, from, text, true, true));
  }

  delivered(channel: string, seq: number, text: string | undefined): void {
    const snippet = text === undefined ? "" : `: ${snip(text)}`;
    this.line(this.colors.green(`[${channel}] delivered #${seq}${snippet}`));
  }

  /** An outbox entry dropped for good, with the refusal that dropped it. */
  notDelivered(channel: string, text: string, code: string, message: string): void {
    this.line(
      this.colors.red(
        `[${channel}] not delivered: ${snip(text)} (error ${oneLine(code)}: ${oneLine(message)})`,
      ),
    );
  }

  /** An outbox entry the user cancelled. */
  cancelled(channel: string, text: string): void {
    this.line(`[${channel}] cancelled: ${snip(text)}`);
  }

  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = headers.map((header, column) =>
      Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
    );
    const render = (cells: readonly string[]) =>
      cells
        .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join("  ");
    this.line([this.colors.bold(render(headers)), ...rows.map(render)].join("\n"));
  }

  /** Named sections of structured data, pretty-printed. */
  sections(sections: Record<string, unknown>): void {
    const text = Object.entries(sections)
      .map(
        ([name, value]) =>
          `${this.colors.bold(`${name}:`)}\n${indent(displayText(JSON.stringify(value, null, 2) ?? "null"))}`,
      )
      .join("\n");
    this.line(text);
  }

  private formatMessage(
    channel: string,
    time: string | null,
    from: string,
    text: string,
    own: boolean,
    pending: boolean,
  ): string {
    const c = this.colors;
    const head = `${c.cyan(`[${channel}]`)} ${c.dim(clock(time))} `;
    const who = own ? c.green(`${from} (you)`) : c.bold(from);
    const body = displayText(text).split("\n").join("\n    ");
    return `${head}${who}: ${body}${pending ? c.yellow(" (pending)") : ""}`;
  }
}

/** The `code` and message of any error: facade errors carry a wire or local code, Node errors theirs. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === "string" ? code : "INTERNAL_ERROR", message: error.message };
  }
  return { code: "INTERNAL_ERROR", message: String(error) };
}

/** `HH:MM` in local time; `--:--` when the time is missing or unreadable. */
export function clock(iso: string | null): string {
  const date = iso === null ? null : new Date(iso);
  if (date === null || Number.isNaN(date.getTime())) return "--:--";
  return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
}

/** C0 controls but tab and newline, DEL and the C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Replaces control characters (other than newline and tab) so a message cannot drive the terminal. */
export function displayText(text: string): string {
  return text.replace(CONTROL_CHARACTERS, "\uFFFD");
}

function oneLine(text: string): string {
  return displayText(text).replaceAll("\n", " ");
}

function snip(text: string): string {
  const flat = oneLine(text);
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS - 1)}…` : flat;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
