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
  private readonly maxFrameBytes: number;
  private readonly handlers: FramerHandlers;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private failed = false;

  constructor(handlers: FramerHandlers, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.handlers = handlers;
    this.maxFrameBytes = maxFrameBytes;
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
        if (this.partsBytes + rest - trailingReturn > this.maxFrameBytes) {
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
      if (lineBytes > this.maxFrameBytes) {
        this.fail(lineBytes);
        return;
      }
      this.emit(chunk, start, newline);
      if (this.failed) return;
      start = newline + 1;
    }
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
