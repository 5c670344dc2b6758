import assert from "node:assert/strict";
import { test } from "node:test";
import { ERROR_CODES, type ErrorCode, isErrorCode, LOCAL_CODES, STATUSES } from "../../src/protocol/codes.js";
import {
  ConnectionError,
  errorFromWire,
  HychatError,
  RequestError,
  ServerError,
  UnauthorizedError,
  wireError,
} from "../../src/protocol/errors.js";

test("protocol - errorFromWire maps every error status to its class", () => {
  const classes = {
    REQUEST_ERROR: RequestError,
    UNAUTHORIZED: UnauthorizedError,
    SERVER_ERROR: ServerError,
  } as const;
  for (const status of STATUSES) {
    if (status === "OK") continue;
    const error = errorFromWire(status, { code: "SOME_CODE", message: "said so", extra: 1 });
    assert.ok(error instanceof classes[status], status);
    assert.ok(error instanceof HychatError);
    assert.ok(error instanceof Error);
    assert.equal(error.status, status);
    assert.equal(error.name, classes[status].name);
    assert.equal(error.code, "SOME_CODE");
    assert.equal(error.message, "said so");
    assert.deepEqual(error.details, { extra: 1 });
    assert.deepEqual(error.toBody(), { code: "SOME_CODE", message: "said so", extra: 1 });
  }
});

test("protocol - errorFromWire treats an unknown status as a request error", () => {
  const error = errorFromWire("WHATEVER", { code: "X", message: "m" });
  assert.ok(error instanceof RequestError);
  assert.equal(error.status, "REQUEST_ERROR");
});

test("protocol - errorFromWire survives bodies without code or message", () => {
  for (const body of [null, undefined, "text", 3, [], {}, { code: 5, message: false }]) {
    const error = errorFromWire("SERVER_ERROR", body);
    assert.ok(error instanceof ServerError);
    assert.equal(error.code, "UNKNOWN_ERROR");
    assert.equal(error.message, "SERVER_ERROR UNKNOWN_ERROR");
  }
});

test("protocol - wireError uses the status ERROR_CODES gives every code", () => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const error = wireError(code, `message for ${code}`);
    assert.equal(error.status, ERROR_CODES[code], code);
    assert.equal(error.code, code);
    assert.equal(error.message, `message for ${code}`);
    assert.deepEqual(error.toBody(), { code, message: `message for ${code}` });
    assert.equal(error instanceof UnauthorizedError, ERROR_CODES[code] === "UNAUTHORIZED");
    assert.equal(error instanceof ServerError, ERROR_CODES[code] === "SERVER_ERROR");
    assert.equal(error instanceof RequestError, ERROR_CODES[code] === "REQUEST_ERROR");
  }
});

test("protocol - wireError keeps details in the body but never lets them replace code or message", () => {
  const error = wireError("RATE_LIMITED", "slow down", { retryAfterMs: 250, code: "OTHER", message: "x" });
  assert.equal(error.code, "RATE_LIMITED");
  assert.equal(error.message, "slow down");
  assert.deepEqual(error.toBody(), { retryAfterMs: 250, code: "RATE_LIMITED", message: "slow down" });
});

test("protocol - HychatError keeps its cause", () => {
  const cause = new Error("disk full");
  const error = new HychatError("SERVER_ERROR", "INTERNAL_ERROR", "failed", { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.name, "HychatError");
  assert.deepEqual(error.details, {});
});

test("protocol - ConnectionError carries a local code and its cause", () => {
  const cause = new Error("ECONNRESET");
  for (const code of LOCAL_CODES) {
    const error = new ConnectionError(code, "gone", { cause });
    assert.equal(error.code, code);
    assert.equal(error.name, "ConnectionError");
    assert.equal(error.cause, cause);
    assert.ok(!(error instanceof HychatError));
  }
});

test("protocol - isErrorCode knows exactly the wire codes", () => {
  for (const code of Object.keys(ERROR_CODES)) assert.equal(isErrorCode(code), true);
  for (const code of [...LOCAL_CODES, "toString", "__proto__", "", "bad_frame"]) {
    assert.equal(isErrorCode(code), false, code);
  }
});
