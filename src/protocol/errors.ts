import { ERROR_CODES, type ErrorCode, type ErrorStatus, type LocalCode } from "./codes.js";

export interface ErrorBody {
  code: string;
  message: string;
  [extra: string]: unknown;
}

/** An error that has a wire form: a non-OK status and a body `{code, message, ...}`. */
export class HychatError extends Error {
  override name = "HychatError";
  readonly status: ErrorStatus;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(
    status: ErrorStatus,
    code: string,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = options?.details ?? {};
  }

  toBody(): ErrorBody {
    return { ...this.details, code: this.code, message: this.message };
  }
}

export class RequestError extends HychatError {
  override name = "RequestError";
}
export class UnauthorizedError extends HychatError {
  override name = "UnauthorizedError";
}
export class ServerError extends HychatError {
  override name = "ServerError";
}

/** Raised locally: the peer did not answer in time, or the connection went away. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  readonly code: LocalCode;
  constructor(code: LocalCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The one place where a status and code become an error class. */
export function errorFromWire(status: string, body: unknown): HychatError {
  const record = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof record.code === "string" ? record.code : "UNKNOWN_ERROR";
  const message = typeof record.message === "string" ? record.message : `${status} ${code}`;
  const { code: _c, message: _m, ...details } = record;
  const options = { details };
  switch (status) {
    case "UNAUTHORIZED":
      return new UnauthorizedError("UNAUTHORIZED", code, message, options);
    case "SERVER_ERROR":
      return new ServerError("SERVER_ERROR", code, message, options);
    default:
      return new RequestError("REQUEST_ERROR", code, message, options);
  }
}

/** Builds the error for a known code with the status the protocol gives it. */
export function wireError(code: ErrorCode, message: string, details?: Record<string, unknown>): HychatError {
  return errorFromWire(ERROR_CODES[code], { ...details, code, message });
}
