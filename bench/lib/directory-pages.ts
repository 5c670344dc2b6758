import { LIST_PAGE_MAX } from "../../src/protocol/tracker-schemas.js";
import { nowUs } from "./clock.js";
import type { WireClient } from "./wire.js";

/** Pages one whole-directory `LIST` may take before the bench counts the tracker as looping. */
const MAX_PAGES = 1_000;

/** Pages the tracker answers for a directory of `channels` (at least one, the last maybe short). */
export function pagesOf(channels: number): number {
  return Math.max(1, Math.ceil(channels / LIST_PAGE_MAX));
}

export interface WholeDirectory {
  /** Every listing's name, in the order the pages gave them. */
  names: string[];
  /** Round trip of each page, in milliseconds. */
  pageMs: number[];
  /** From the first page's request to the last page's answer, in milliseconds. */
  wallMs: number;
}

/**
 * The whole directory as a peer fetches it: `LIST {after}` page after page, each sent when the one
 * before was answered, until `next` is null.
 */
export async function listWholeDirectory(client: WireClient): Promise<WholeDirectory> {
  const names: string[] = [];
  const pageMs: number[] = [];
  let after: string | null = null;
  const startUs = nowUs();
  do {
    if (pageMs.length === MAX_PAGES) throw new Error(`LIST did not end within ${MAX_PAGES} pages`);
    const sentUs = nowUs();
    const page: { channels: { name: string }[]; next?: string | null } = await client.request(
      "LIST",
      after === null ? {} : { after },
    );
    pageMs.push((nowUs() - sentUs) / 1000);
    for (const listing of page.channels) names.push(listing.name);
    if (page.next === undefined) throw new Error("LIST answered without next: not a paged tracker");
    after = page.next;
  } while (after !== null);
  return { names, pageMs, wallMs: (nowUs() - startUs) / 1000 };
}

/**
 * Why a whole-directory listing is wrong, or undefined when it holds `expected` channels in
 * `pages` pages, each once and in the tracker's order (by name without case).
 */
export function directoryError(directory: WholeDirectory, expected: number): string | undefined {
  const { names, pageMs } = directory;
  if (names.length !== expected) return `LIST pages gave ${names.length} channels, not ${expected}`;
  if (pageMs.length !== pagesOf(expected))
    return `LIST took ${pageMs.length} pages for ${expected} channels, not ${pagesOf(expected)}`;
  for (let index = 1; index < names.length; index++) {
    const before = (names[index - 1] as string).toLowerCase();
    const name = (names[index] as string).toLowerCase();
    if (before >= name) return `LIST pages gave ${names[index - 1]} before ${names[index]}`;
  }
  return undefined;
}

/**
 * The `next` of a `LIST` answer line, read without parsing the page (its last field: the body is
 * `{channels, next}` and channel names hold no quote or brace). Undefined when there is none.
 */
export function nextOfListLine(line: string): string | null | undefined {
  const key = '"next":';
  const at = line.lastIndexOf(key);
  if (at === -1) return undefined;
  const end = line.indexOf("}", at);
  if (end === -1) return undefined;
  const value: unknown = JSON.parse(line.slice(at + key.length, end));
  return typeof value === "string" || value === null ? value : undefined;
}
