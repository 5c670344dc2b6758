import { command } from "./dispatcher.js";
import { wireError } from "./errors.js";
import { PROTOCOL_VERSION } from "./frames.js";
import { type HelloReply, helloBodySchema } from "./hello-schemas.js";

export { PROTOCOL_VERSION };

/**
 * The `HELLO` handler both servers share. A server that speaks another version answers
 * `UNSUPPORTED_VERSION` and closes, so two releases that differ fail with one clear error.
 */
export function helloCommand<Session extends { readonly challenge: string }>(server: HelloReply["server"]) {
  return command<Session, typeof helloBodySchema>({
    schema: helloBodySchema,
    handle({ connection, session }, body): HelloReply {
      if (body.version !== PROTOCOL_VERSION) {
        // After the refusal is written: the dispatcher writes it as soon as this throws.
        queueMicrotask(() => connection.close());
        throw wireError(
          "UNSUPPORTED_VERSION",
          `this ${server} speaks protocol version ${PROTOCOL_VERSION}, not ${body.version}: run the same hychat release on both sides`,
          { supported: [PROTOCOL_VERSION] },
        );
      }
      return { version: PROTOCOL_VERSION, server, challenge: session.challenge };
    },
  });
}
