import type { ChatMessage, HostOkBodies } from "../../src/protocol/host-schemas.js";
import { type Credentials, type OutgoingMessage, signedMessage } from "./credentials.js";
import { benchText } from "./message-format.js";
import { type Address, pipelined, WireClient } from "./wire.js";

const CACHE_BATCH = 500;
/** CACHE requests in flight while filling a channel. */
const CACHE_WINDOW = 4;
const TEXT_BYTES = 100;

/**
 * `count` messages by `author` for `channel`, signed as its client signs them when they are
 * written (msgIds `<tag>.<position>`, texts starting with the position), ready to store.
 */
export function signedMessages(
  author: Credentials,
  channel: string,
  tag: string,
  count: number,
): OutgoingMessage[] {
  const sentAt = new Date().toISOString();
  return Array.from({ length: count }, (_, index) =>
    signedMessage(author, channel, `${tag}.${index}`, benchText(index, TEXT_BYTES), sentAt),
  );
}

/**
 * Stores already signed messages through CACHE batches of 500 from an already joined client, as
 * an outbox flush sends what was signed when it was written.
 */
export async function storeMessages(
  client: WireClient,
  channel: string,
  messages: readonly OutgoingMessage[],
  window = CACHE_WINDOW,
): Promise<void> {
  const batches = Math.ceil(messages.length / CACHE_BATCH);
  await pipelined(batches, window, async (batch) => {
    const items = messages.slice(batch * CACHE_BATCH, (batch + 1) * CACHE_BATCH);
    const body = await client.request<HostOkBodies["CACHE"]>("CACHE", { channel, messages: items });
    if (body.results.length !== items.length)
      throw new Error(`CACHE stored ${body.results.length} of ${items.length}`);
  });
}

/** Signs `count` messages by `author` and stores them (`signedMessages`, then `storeMessages`). */
export async function fillChannel(
  client: WireClient,
  channel: string,
  author: Credentials,
  tag: string,
  count: number,
  window = CACHE_WINDOW,
): Promise<void> {
  await storeMessages(client, channel, signedMessages(author, channel, tag, count), window);
}

/**
 * Opens a connection (with its `HELLO`) and joins with the ticket and its key's proof for this
 * connection; the caller closes the client.
 */
export async function join(
  address: Address,
  channel: string,
  member: Pick<Credentials, "ticket" | "key">,
  since?: number,
): Promise<{ client: WireClient; reply: HostOkBodies["CONNECT"] }> {
  const client = await WireClient.open(address);
  try {
    const proof = client.prove(member.key, "CONNECT", channel);
    const body = { channel, ticket: member.ticket, proof, ...(since === undefined ? {} : { since }) };
    const reply = await client.request<HostOkBodies["CONNECT"]>("CONNECT", body);
    return { client, reply };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/**
 * Rejoins with `since` and pages with HISTORY `after` until nothing more is missing; returns the
 * seqs received, in order, the messages themselves when `keep` is set, and the client (the caller
 * closes it).
 */
export async function catchUp(
  address: Address,
  channel: string,
  member: Pick<Credentials, "ticket" | "key">,
  since: number,
  keep = false,
): Promise<{ client: WireClient; seqs: number[]; messages: ChatMessage[] }> {
  const { client, reply } = await join(address, channel, member, since);
  const seqs = reply.history.map((message) => message.seq);
  const messages: ChatMessage[] = keep ? [...reply.history] : [];
  let hasMore = reply.hasMore;
  while (hasMore) {
    const after = seqs[seqs.length - 1] ?? since;
    const page = await client.request<HostOkBodies["HISTORY"]>("HISTORY", { channel, after, limit: 500 });
    for (const message of page.messages) seqs.push(message.seq);
    if (keep) messages.push(...page.messages);
    hasMore = page.hasMore && page.messages.length > 0;
  }
  return { client, seqs, messages };
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
