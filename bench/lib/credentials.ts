import { DeviceKey } from "../../src/auth/device-key.js";
import { MessageVerifier, signMessage } from "../../src/auth/message-signature.js";
import { publicKeyFromBase64 } from "../../src/auth/tickets.js";
import { DEVICE_ID_PATTERN } from "../../src/protocol/names.js";
import type { WireClient } from "./wire.js";

/**
 * A ticket and the device key it certifies (protocol version 3): the key proves every use of the
 * ticket and signs every message its holder writes, so the two always travel together.
 */
export interface Credentials {
  /** As the tracker spells it: what message signatures name as the author. */
  username: string;
  ticket: string;
  key: DeviceKey;
}

/** `Credentials` as they cross to another bench process (argv or IPC): the key as PKCS#8 PEM. */
export interface PortableCredentials {
  username: string;
  ticket: string;
  keyPem: string;
}

export function portable(credentials: Credentials): PortableCredentials {
  return { username: credentials.username, ticket: credentials.ticket, keyPem: credentials.key.toPem() };
}

export function fromPortable(credentials: PortableCredentials): Credentials {
  return {
    username: credentials.username,
    ticket: credentials.ticket,
    key: DeviceKey.fromPem(credentials.keyPem),
  };
}

/**
 * The device id of one bench identity (`bench-<name>`, only the characters a device id allows).
 * Signing in again on a device revokes its older tickets: give each identity that must stay
 * valid at the same time its own name.
 */
export function deviceIdFor(name: string): string {
  const id = `bench-${name}`.replaceAll(/[^A-Za-z0-9_-]+/g, "-").slice(0, 64);
  if (!DEVICE_ID_PATTERN.test(id)) throw new Error(`no device id can be made of ${JSON.stringify(name)}`);
  return id;
}

/** `SIGNIN` on an open tracker client (after its `HELLO`) with a fresh device key, as a peer signs in. */
export async function signIn(
  client: WireClient,
  account: { username: string; password: string },
  device: string,
  key: DeviceKey = DeviceKey.generate(),
): Promise<Credentials> {
  const body = await client.request<{ username: string; ticket: string }>("SIGNIN", {
    ...account,
    device,
    publicKey: key.publicKey,
    proof: client.prove(key, "SIGNIN"),
  });
  return { username: body.username, ticket: body.ticket, key };
}

/** `GUEST` on an open tracker client (after its `HELLO`) with a fresh device key. */
export async function signInAsGuest(
  client: WireClient,
  key: DeviceKey = DeviceKey.generate(),
): Promise<Credentials> {
  const body = await client.request<{ username: string; ticket: string }>("GUEST", {
    publicKey: key.publicKey,
    proof: client.prove(key, "GUEST"),
  });
  return { username: body.username, ticket: body.ticket, key };
}

/** What a member sends of one message (`MESSAGE` body without the channel, or a `CACHE` item). */
export interface OutgoingMessage {
  msgId: string;
  text: string;
  sentAt: string;
  sig: string;
  cert: string;
}

/** One message as `author` writes it to `channel`: signed with its key, its ticket as the certificate. */
export function signedMessage(
  author: Credentials,
  channel: string,
  msgId: string,
  text: string,
  sentAt: string,
): OutgoingMessage {
  const sig = signMessage(author.key, { channel, from: author.username, msgId, sentAt, text });
  return { msgId, text, sentAt, sig, cert: author.ticket };
}

/** A verifier of messages certified by the tracker `client` is connected to (its `KEY`), as a member's client holds one. */
export async function trackerVerifier(client: WireClient): Promise<MessageVerifier> {
  const key = await client.request<{ publicKey: string; issuer: string }>("KEY", {});
  return new MessageVerifier(publicKeyFromBase64(key.publicKey), key.issuer);
}
