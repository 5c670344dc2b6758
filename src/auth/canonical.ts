/**
 * The byte strings hychat signs (docs/protocol.md, "Signed bytes"). Each is a list of fields, the
 * first naming what is signed; every field is written as its UTF-8 length in four bytes, big
 * endian, then its UTF-8 bytes. Nothing is left to a JSON encoder, so any client can rebuild them.
 */
export function canonicalBytes(fields: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of fields) {
    const bytes = Buffer.from(field, "utf8");
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

export const MESSAGE_CONTEXT = "hychat-message/1";
export const PROOF_CONTEXT = "hychat-proof/1";

/** What a message's signature covers. Names are lowercased: they are compared without case. */
export interface SignedMessageFields {
  channel: string;
  from: string;
  msgId: string;
  sentAt: string;
  text: string;
}

export function messageBytes(message: SignedMessageFields): Buffer {
  return canonicalBytes([
    MESSAGE_CONTEXT,
    message.channel.toLowerCase(),
    message.from.toLowerCase(),
    message.msgId,
    message.sentAt,
    message.text,
  ]);
}

/** The request a proof of possession goes with. */
export type ProofPurpose = "SIGNIN" | "GUEST" | "RESUME" | "CONNECT" | "RELAY_DIAL";

/**
 * What a proof of possession covers: the request, the certificate fingerprint of the server it is
 * sent to, that connection's `HELLO` challenge and (for `CONNECT`) the channel, so what one server
 * sees is worth nothing at another (`RELAY_DIAL` names the channel too).
 */
export interface ProofFields {
  purpose: ProofPurpose;
  fingerprint: string;
  challenge: string;
  channel?: string;
}

export function proofBytes(proof: ProofFields): Buffer {
  return canonicalBytes([
    PROOF_CONTEXT,
    proof.purpose,
    proof.fingerprint,
    proof.challenge,
    (proof.channel ?? "").toLowerCase(),
  ]);
}
