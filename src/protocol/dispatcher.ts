import type { z } from "zod";
import { ERROR_CODES } from "./codes.js";
import type { Connection } from "./connection.js";
import { HychatError, wireError } from "./errors.js";
import type { RequestFrame } from "./frames.js";

export interface CommandContext<Session> {
  session: Session;
  connection: Connection;
  requestId: string;
}

export interface CommandHandler<Session, Schema extends z.ZodType = z.ZodType> {
  schema: Schema;
  /** When true, the command is refused with `NOT_SIGNED_IN` until the session is signed in. */
  signedIn?: boolean;
  /** Returns the OK body, or a promise of it; throws a `HychatError` to refuse. */
  handle(context: CommandContext<Session>, body: z.output<Schema>): object | Promise<object>;
}

/** Declares a handler with its body type inferred from its schema. */
export function command<Session, Schema extends z.ZodType>(
  handler: CommandHandler<Session, Schema>,
): CommandHandler<Session, Schema> {
  return handler;
}

export interface DispatcherOptions<Session> {
  isSignedIn(session: Session): boolean;
  /** Called with errors that are not `HychatError`s: bugs, answered as `INTERNAL_ERROR`. */
  onInternalError(error: unknown, command: string): void;
}

/** Validate, authorize, apply: routes each request to its handler and answers exactly once. */
export class Dispatcher<Session> {
  private readonly handlers: Map<string, CommandHandler<Session>>;
  private readonly options: DispatcherOptions<Session>;

  constructor(
    handlers: Record<string, CommandHandler<Session, z.ZodType>>,
    options: DispatcherOptions<Session>,
  ) {
    this.handlers = new Map(Object.entries(handlers));
    this.options = options;
  }

  get commands(): string[] {
    return [...this.handlers.keys()];
  }

  dispatch(session: Session, connection: Connection, frame: RequestFrame): void {
    const handler = this.handlers.get(frame.command);
    if (handler === undefined) {
      connection.replyError(
        frame.id,
        wireError("UNKNOWN_COMMAND", `unknown command ${JSON.stringify(frame.command)}`),
      );
      return;
    }
    const parsed = handler.schema.safeParse(frame.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
      connection.replyError(frame.id, wireError("BAD_REQUEST", `${field}: ${issue?.message ?? "invalid"}`));
      return;
    }
    if (handler.signedIn === true && !this.options.isSignedIn(session)) {
      connection.replyError(
        frame.id,
        wireError("NOT_SIGNED_IN", `${frame.command} needs a signed-in connection`),
      );
      return;
    }
    let result: object | Promise<object>;
    try {
      result = handler.handle({ session, connection, requestId: frame.id }, parsed.data);
    } catch (error) {
      this.fail(connection, frame, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (body) => connection.reply(frame.id, "OK", body),
        (error: unknown) => this.fail(connection, frame, error),
      );
    } else {
      connection.reply(frame.id, "OK", result);
    }
  }

  private fail(connection: Connection, frame: RequestFrame, error: unknown): void {
    if (error instanceof HychatError) {
      connection.replyError(frame.id, error);
      return;
    }
    this.options.onInternalError(error, frame.command);
    connection.replyError(
      frame.id,
      new HychatError(ERROR_CODES.INTERNAL_ERROR, "INTERNAL_ERROR", `${frame.command} failed on the server`),
    );
  }
}
