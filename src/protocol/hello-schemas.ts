import { z } from "zod";
import { CHALLENGE_PATTERN } from "./names.js";

/**
 * `HELLO`, the first request a client sends on every link: the protocol version it speaks. Its
 * schemas live apart from the handler (`hello.ts`) so the page can use the other schemas without Node.
 */
export const helloBodySchema = z.object({ version: z.number().int().min(0).max(1_000_000) });
export const helloReplySchema = z.object({
  version: z.number().int(),
  server: z.enum(["tracker", "host"]),
  /** Fresh for each connection: proofs of possession on it sign it (docs/protocol.md, "Proof of possession"). */
  // Optional here so that an older server is told apart by its version, not by a malformed answer.
  challenge: z.string().regex(CHALLENGE_PATTERN).optional(),
});

export type HelloReply = z.infer<typeof helloReplySchema>;
