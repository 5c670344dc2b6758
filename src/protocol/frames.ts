import { z } from "zod";
import { STATUSES, type Status } from "./codes.js";

/** Protocol version spoken by this implementation. */
export const PROTOCOL_VERSION = 3;

const frameId = z.string().min(1).max(64);
const body = z.record(z.string(), z.unknown());

export const requestFrameSchema = z.object({
  type: z.literal("request"),
  id: frameId,
  command: z.string().min(1).max(64),
  body,
});
export const responseFrameSchema = z.object({
  type: z.literal("response"),
  // null answers a frame whose id could not be read (BAD_FRAME, FRAME_TOO_LARGE).
  id: frameId.nullable(),
  status: z.enum(STATUSES),
  body,
});
export const eventFrameSchema = z.object({
  type: z.literal("event"),
  event: z.string().min(1).max(64),
  body,
});
export const frameSchema = z.discriminatedUnion("type", [
  requestFrameSchema,
  responseFrameSchema,
  eventFrameSchema,
]);

export type RequestFrame = z.infer<typeof requestFrameSchema>;
export type ResponseFrame = z.infer<typeof responseFrameSchema>;
export type EventFrame = z.infer<typeof eventFrameSchema>;
export type Frame = z.infer<typeof frameSchema>;

export type ParsedLine = { ok: true; frame: Frame } | { ok: false; id: string | null; reason: string };

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= 64;
}

function isBody(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The frame, when `value` is a well-formed one; else null, and `frameSchema` explains what is wrong.
 * Accepts exactly what `frameSchema` accepts (a property test holds them together); it exists
 * because every message a host fans out passes here, and the checks by hand cost a fraction of
 * the schema's.
 */
function wellFormedFrame(value: Record<string, unknown>): Frame | null {
  const { type, body } = value;
  if (!isBody(body)) return null;
  if (type === "request") {
    const { id, command } = value;
    return isName(id) && isName(command) ? { type, id, command, body } : null;
  }
  if (type === "event") {
    const { event } = value;
    return isName(event) ? { type, event, body } : null;
  }
  if (type === "response") {
    const { id, status } = value;
    if (!(id === null || isName(id)) || typeof status !== "string" || !STATUS_SET.has(status)) return null;
    return { type, id, status: status as Status, body };
  }
  return null;
}

/** Parses one line into a frame, or says why it is not one (with the `id` if one can be read). */
export function parseFrame(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, id: null, reason: "line is not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, id: null, reason: "frame is not a JSON object" };
  }
  const fast = wellFormedFrame(value as Record<string, unknown>);
  if (fast !== null) return { ok: true, frame: fast };
  const result = frameSchema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data };
  const rawId = (value as { id?: unknown }).id;
  const id = typeof rawId === "string" && rawId.length >= 1 && rawId.length <= 64 ? rawId : null;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join(".") : "frame";
  return { ok: false, id, reason: `${where}: ${issue?.message ?? "invalid frame"}` };
}

export function encodeRequest(id: string, command: string, body: object): string {
  return `${JSON.stringify({ type: "request", id, command, body })}\n`;
}

export function encodeResponse(id: string | null, status: Status, body: object): string {
  return `${JSON.stringify({ type: "response", id, status, body })}\n`;
}

export function encodeEvent(event: string, body: object): string {
  return `${JSON.stringify({ type: "event", event, body })}\n`;
}
