/** Splits a byte stream into lines, with a byte cap per line. */

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface FramerHandlers {
  /** A complete, non-empty line, decoded as UTF-8, without its `\n` (or `\r\n`). */
  onLine(line: string): void;
  /** The current line passed the cap; the framer stops and ignores further input. */
  onOversize(bytesSeen: number): void;
}

/**
 * Incremental newline framer. A `\n` byte never occurs inside a multi-byte UTF-8 sequence, so
 * splitting on bytes and decoding whole lines is safe across any chunk boundary.
 */
export class LineFramer {
  private cap: number;
  private readonly handlers: FramerHandlers;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private failed = false;
  /** Set by `stop`: what follows the current line is not lines any more. */
  private stopped = false;
  private remainder: Buffer | undefined;

  constructor(handlers: FramerHandlers, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.handlers = handlers;
    this.cap = maxFrameBytes;
  }

  /** The cap on one line, in bytes, as it stands now. */
  get maxFrameBytes(): number {
    return this.cap;
  }

  /**
   * Changes the cap from the next byte received on (a server raises it once a connection signs in):
   * a line already held past a lowered cap fails when more of it comes.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.cap = maxFrameBytes;
  }

  /** Drops the unfinished line and takes no more input, without `onOversize` (the caller answers). */
  discard(): void {
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
  }

  /** Bytes held for a line that has not ended yet: at most the cap, plus one trailing `\r`. */
  get bufferedBytes(): number {
    return this.partsBytes;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) {
        const rest = chunk.length - start;
        // A trailing `\r` may be the first half of a `\r\n`, which the cap does not count.
        const trailingReturn = chunk[chunk.length - 1] === CARRIAGE_RETURN ? 1 : 0;
        if (this.partsBytes + rest - trailingReturn > this.cap) {
          this.fail(this.partsBytes + rest);
          return;
        }
        this.parts.push(start === 0 ? chunk : chunk.subarray(start));
        this.partsBytes += rest;
        return;
      }
      const pieceBytes = newline - start;
      let lineBytes = this.partsBytes + pieceBytes;
      const lastByte = pieceBytes > 0 ? chunk[newline - 1] : this.lastBufferedByte();
      if (lastByte === CARRIAGE_RETURN) lineBytes -= 1;
      if (lineBytes > this.cap) {
        this.fail(lineBytes);
        return;
      }
      this.emit(chunk, start, newline);
      if (this.stopped) {
        this.remainder = chunk.subarray(newline + 1);
        return;
      }
      if (this.failed) return;
      start = newline + 1;
    }
  }

  /**
   * Ends framing after the line being handled (call it from `onLine`, or between chunks): the
   * stream turns into raw bytes from there on (a relay's splice). `push` takes nothing more.
   */
  stop(): void {
    this.stopped = true;
    this.failed = true;
  }

  /** After `stop`: the bytes received past the last line, which belong to whoever takes the stream. */
  takeRest(): Buffer {
    const rest = Buffer.concat([...this.parts, ...(this.remainder === undefined ? [] : [this.remainder])]);
    this.parts = [];
    this.partsBytes = 0;
    this.remainder = undefined;
    return rest;
  }

  private lastBufferedByte(): number | undefined {
    const last = this.parts[this.parts.length - 1];
    return last === undefined ? undefined : last[last.length - 1];
  }

  private emit(chunk: Buffer, start: number, end: number): void {
    let line: Buffer;
    if (this.parts.length === 0) {
      line = chunk.subarray(start, end);
    } else {
      this.parts.push(chunk.subarray(start, end));
      line = Buffer.concat(this.parts);
      this.parts = [];
      this.partsBytes = 0;
    }
    let length = line.length;
    if (length > 0 && line[length - 1] === CARRIAGE_RETURN) length -= 1;
    if (length === 0) return;
    this.handlers.onLine(line.toString("utf8", 0, length));
  }

  private fail(bytesSeen: number): void {
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
    this.handlers.onOversize(bytesSeen);
  }
}
