/** Messages between the bench orchestrator and its child processes (over the Node IPC channel). */

export type ParentMessage = { kind: "call"; id: number; op: string; args: unknown };

export type ChildMessage =
  | { kind: "ready"; data: unknown }
  | { kind: "reply"; id: number; ok: true; data: unknown }
  | { kind: "reply"; id: number; ok: false; error: string }
  | { kind: "fatal"; error: string };

export function isChildMessage(value: unknown): value is ChildMessage {
  return (
    typeof value === "object" && value !== null && typeof (value as { kind?: unknown }).kind === "string"
  );
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
