import type { Connection } from "../protocol/connection.js";
import { encodeEvent } from "../protocol/frames.js";
import type { HostEventBodies } from "../protocol/host-schemas.js";
import type { MemberConnection } from "./member-connection.js";

/** Encodes an event once and writes the same bytes to every session but `except`. */
export function broadcastEvent<E extends keyof HostEventBodies>(
  sessions: Iterable<MemberConnection>,
  event: E,
  body: HostEventBodies[E],
  except?: MemberConnection,
): void {
  writeToAll(sessions, Buffer.from(encodeEvent(event, body)), except);
}

/**
 * Writes already-encoded frames to every session but `except`. Pass a Buffer when there are many
 * sessions: a string would be UTF-8 encoded again by every socket.
 */
export function writeToAll(
  sessions: Iterable<MemberConnection>,
  frames: Buffer,
  except?: MemberConnection,
): void {
  for (const session of sessions) {
    if (session !== except) session.connection.write(frames);
  }
}

/** Holds writes to these connections in their buffers until `uncorkAll`, so each flushes in one writev. */
export function corkAll(connections: Iterable<Connection>): void {
  for (const connection of connections) connection.cork();
}

export function uncorkAll(connections: Iterable<Connection>): void {
  for (const connection of connections) connection.uncork();
}

/**
 * Drops a connection that left more than `maxQueuedBytes` unread: a reader that does not keep up
 * is cut off so it never stalls the others or grows the host's memory. Returns true if dropped.
 */
export function dropIfBacklogged(connection: Connection, maxQueuedBytes: number): boolean {
  if (connection.closed) return true;
  const queued = connection.queuedBytes;
  if (queued <= maxQueuedBytes) return false;
  connection.destroy(new Error(`peer is not reading: ${queued} bytes queued`));
  return true;
}
