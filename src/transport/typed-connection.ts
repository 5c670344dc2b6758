import type { z } from "zod";
import type { Connection, RequestOptions } from "../protocol/connection.js";
import { ConnectionError } from "../protocol/errors.js";

/** What one kind of link speaks: the OK body of each command, and the events, as schemas. */
export interface LinkSpec<Bodies extends Record<string, unknown>> {
  replies: { [C in keyof Bodies]: z.ZodType };
  events: Record<string, z.ZodType>;
}

export type ReplyOf<S extends LinkSpec<Record<string, unknown>>, C extends keyof S["replies"]> = z.output<
  S["replies"][C]
>;

export type EventOf<S extends LinkSpec<Record<string, unknown>>> = {
  [E in keyof S["events"] & string]: { event: E; body: z.output<S["events"][E]> };
}[keyof S["events"] & string];

/**
 * A `Connection` whose requests are typed by one `LinkSpec`: the body by the command, the answer
 * checked against that command's reply schema. The other side may be hostile (a host is another
 * user's machine), so an answer that does not fit is an error (`BAD_REPLY`), never a cast.
 */
export class TypedConnection<Bodies extends Record<string, unknown>, S extends LinkSpec<Bodies>> {
  /** The `HELLO` challenge of this connection, which proofs of possession on it sign. */
  challenge = "";

  constructor(
    readonly connection: Connection,
    private readonly spec: S,
    /** The fingerprint of the server's certificate (proofs of possession name it). */
    readonly serverFingerprint: string,
  ) {}

  async request<C extends keyof Bodies & string>(
    command: C,
    body: Bodies[C],
    options?: RequestOptions,
  ): Promise<ReplyOf<S, C>> {
    const reply = await this.connection.request(command, body as object, options);
    const parsed = this.spec.replies[command].safeParse(reply);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
      throw new ConnectionError(
        "BAD_REPLY",
        `${command} answered with a malformed ${field}: ${issue?.message}`,
      );
    }
    return parsed.data as ReplyOf<S, C>;
  }
}

/** Reads an event frame against the spec; undefined for an unknown event or a body that does not fit. */
export function parseEvent<S extends LinkSpec<Record<string, unknown>>>(
  spec: S,
  event: string,
  body: unknown,
): EventOf<S> | undefined {
  if (!Object.hasOwn(spec.events, event)) return undefined;
  const parsed = (spec.events[event] as z.ZodType).safeParse(body);
  return parsed.success ? ({ event, body: parsed.data } as EventOf<S>) : undefined;
}
