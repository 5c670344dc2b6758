import { z } from "zod";
import { command } from "./dispatcher.js";
import { wireError } from "./errors.js";
import { PROTOCOL_VERSION } from "./frames.js";

/**
 * `HELLO`, the first request a client sends on every link: the protocol version it speaks. A server
 * that speaks another answers `UNSUPPORTED_VERSION` and closes, so two releases that differ fail
 * with one clear error instead of in confusing ways later.
 */
export const helloBodySchema = z.object({ version: z.number().int().min(0).max(1_000_000) });
export const helloReplySchema = z.object({
  version: z.number().int(),
  server: z.enum(["tracker", "host"]),
});

export type HelloReply = z.infer<typeof helloReplySchema>;

export { PROTOCOL_VERSION };

/** The `HELLO` handler both servers share: answers its version, or refuses another one and closes. */
export function helloCommand<Session>(server: HelloReply["server"]) {
  return command<Session, typeof helloBodySchema>({
    schema: helloBodySchema,
    handle({ connection }, body): HelloReply {
      if (body.version !== PROTOCOL_VERSION) {
        // After the refusal is written: the dispatcher writes it as soon as this throws.
        queueMicrotask(() => connection.close());
        throw wireError(
          "UNSUPPORTED_VERSION",
          `this ${server} speaks protocol version ${PROTOCOL_VERSION}, not ${body.version}: run the same hychat release on both sides`,
          { supported: [PROTOCOL_VERSION] },
        );
      }
      return { version: PROTOCOL_VERSION, server };
    },
  });
}
