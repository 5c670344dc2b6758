import { useApp } from "../context.js";
import { formatTime } from "../format.js";
import type { PendingMessage } from "../state.js";
import { pendingNotJoined } from "../state.js";
import { useRequest } from "../use-request.js";

const REASON_TEXT = {
  sending: "sending…",
  unreachable: "pending: not delivered yet",
  "not-joined": "pending: join the channel to deliver",
} as const;

/** What a pending message waits for, as its last `queued` event said. */
export function pendingLabel(entry: PendingMessage): string {
  return REASON_TEXT[entry.reason];
}

/** Discards one pending message; a message being sent right now cannot be cancelled. */
export function CancelPending({ entry }: { entry: PendingMessage }) {
  const { call } = useApp();
  const { busy, run } = useRequest();
  if (entry.reason === "sending") return null;
  return (
    <button
      type="button"
      className="link-button cancel-pending"
      aria-label={`Cancel pending message: ${entry.text}`}
      disabled={busy}
      onClick={() => void run(() => call("cancelPending", { msgId: entry.msgId }))}
    >
      Cancel
    </button>
  );
}

/** Messages written to channels not joined yet: they go out, in order, when the user joins. */
export function NotJoinedOutbox() {
  const { state } = useApp();
  const entries = pendingNotJoined(state);
  if (entries.length === 0) return null;
  return (
    <section className="card not-joined-outbox" aria-labelledby="not-joined-outbox-heading">
      <h2 id="not-joined-outbox-heading">Waiting for you to join</h2>
      <ul>
        {[...entries]
          .sort((a, b) => a.position - b.position)
          .map((entry) => (
            <li key={entry.msgId} className="pending" data-msg-id={entry.msgId}>
              <span className="channel-name">#{entry.channel}</span>{" "}
              <time dateTime={entry.sentAt}>{formatTime(entry.sentAt)}</time>{" "}
              <span className="text">{entry.text}</span> <CancelPending entry={entry} />
            </li>
          ))}
      </ul>
    </section>
  );
}
