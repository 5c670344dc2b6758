import type { HostOkBodies } from "../../src/protocol/host-schemas.js";
import { benchText } from "./message-format.js";
import { type Address, pipelined, WireClient } from "./wire.js";

const CACHE_BATCH = 500;
/** CACHE requests in flight while filling a channel. */
const CACHE_WINDOW = 4;
const TEXT_BYTES = 100;

/** Stores `count` messages through CACHE batches of 500 from an already joined client. */
export async function fillChannel(
  client: WireClient,
  channel: string,
  tag: string,
  count: number,
  window = CACHE_WINDOW,
): Promise<void> {
  const batches = Math.ceil(count / CACHE_BATCH);
  const sentAt = new Date().toISOString();
  await pipelined(batches, window, async (batch) => {
    const size = Math.min(CACHE_BATCH, count - batch * CACHE_BATCH);
    const messages = Array.from({ length: size }, (_, index) => ({
      msgId: `${tag}.${batch * CACHE_BATCH + index}`,
      text: benchText(batch * CACHE_BATCH + index, TEXT_BYTES),
      sentAt,
    }));
    const body = await client.request<HostOkBodies["CACHE"]>("CACHE", { channel, messages });
    if (body.results.length !== size) throw new Error(`CACHE stored ${body.results.length} of ${size}`);
  });
}

/** Opens a connection and joins; the caller closes the client. */
export async function join(
  address: Address,
  channel: string,
  ticket: string,
  since?: number,
): Promise<{ client: WireClient; reply: HostOkBodies["CONNECT"] }> {
  const client = await WireClient.open(address);
  try {
    const body = since === undefined ? { channel, ticket } : { channel, ticket, since };
    const reply = await client.request<HostOkBodies["CONNECT"]>("CONNECT", body);
    return { client, reply };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/**
 * Rejoins with `since` and pages with HISTORY `after` until nothing more is missing; returns the
 * seqs received, in order, and the client (the caller closes it).
 */
export async function catchUp(
  address: Address,
  channel: string,
  ticket: string,
  since: number,
): Promise<{ client: WireClient; seqs: number[] }> {
  const { client, reply } = await join(address, channel, ticket, since);
  const seqs = reply.history.map((message) => message.seq);
  let hasMore = reply.hasMore;
  while (hasMore) {
    const after = seqs[seqs.length - 1] ?? since;
    const page = await client.request<HostOkBodies["HISTORY"]>("HISTORY", { channel, after, limit: 500 });
    for (const message of page.messages) seqs.push(message.seq);
    hasMore = page.hasMore && page.messages.length > 0;
  }
  return { client, seqs };
}

/** Null when `seqs` is exactly first..first+count-1, else what is wrong. */
export function checkSeqs(seqs: number[], first: number, count: number): string | null {
  if (seqs.length !== count) return `got ${seqs.length} messages, expected ${count}`;
  for (let index = 0; index < seqs.length; index++) {
    if (seqs[index] !== first + index)
      return `message ${index} has seq ${seqs[index]}, expected ${first + index}`;
  }
  return null;
}
