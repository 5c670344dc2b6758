import { z } from "zod";

/**
 * `HELLO`, the first request a client sends on every link: the protocol version it speaks. Its
 * schemas live apart from the handler (`hello.ts`) so the page can use the other schemas without Node.
 */
export const helloBodySchema = z.object({ version: z.number().int().min(0).max(1_000_000) });
export const helloReplySchema = z.object({
  version: z.number().int(),
  server: z.enum(["tracker", "host"]),
});

export type HelloReply = z.infer<typeof helloReplySchema>;
