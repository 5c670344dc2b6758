/**
 * How bench messages carry what the readers check: the msgId is `<run tag>.<position>.<time>`
 * (monotonic microseconds: when the message was written, which for the fan-out publisher is when
 * it was signed, before the run) and the text starts with that time too, padded to the wanted size.
 * Readers find the msgId with one byte search instead of parsing every line as JSON, so the load
 * process costs as little as possible per delivery.
 */

export const SEQ_KEY = '"seq":';

/** What precedes the position in every msgId of the run `tag`, as it appears in a JSON line. */
export function runMarker(tag: string): string {
  return `"msgId":"${tag}.`;
}

export function benchMsgId(tag: string, position: number, writtenUs: number): string {
  return `${tag}.${position}.${writtenUs}`;
}

/** A text of exactly `bytes` ASCII characters that starts with the time it was written. */
export function benchText(writtenUs: number, bytes: number): string {
  const head = `${writtenUs} `;
  return head.length >= bytes ? head : head + "x".repeat(bytes - head.length);
}

/** The non-negative integer written at `from` in `bytes`, and where it ends. */
export function digitsAt(bytes: Buffer, from: number): { value: number; end: number } {
  let value = 0;
  let index = from;
  for (; index < bytes.length; index++) {
    const byte = bytes[index] as number;
    if (byte < 48 || byte > 57) break;
    value = value * 10 + (byte - 48);
  }
  return { value, end: index };
}
