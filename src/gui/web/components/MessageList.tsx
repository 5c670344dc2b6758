import { useCallback, useEffect, useLayoutEffect, useRef } from "react";
import { useApp } from "../context.js";
import { formatTime } from "../format.js";
import { type ChannelView, hasOlder, type PendingMessage } from "../state.js";
import { useRequest } from "../use-request.js";
import { CancelPending, pendingLabel } from "./PendingMessages.js";

/** Distance from the top, in pixels, at which older history starts loading. */
const LOAD_OLDER_THRESHOLD_PX = 48;
/** Distance from the bottom within which new messages keep the list scrolled to the end. */
const STICK_TO_BOTTOM_PX = 64;

interface Props {
  channel: ChannelView;
  pending: PendingMessage[];
  me: string;
}

export function MessageList({ channel, pending, me }: Props) {
  const { call, dispatch } = useApp();
  const { busy, run } = useRequest();
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  /** Height below the viewport's top before older messages were added, to keep the view still. */
  const anchor = useRef<number | null>(null);
  const name = channel.info.name;
  const olderExist = hasOlder(channel);
  const firstSeq = channel.messages[0]?.seq;
  const last = channel.messages[channel.messages.length - 1];
  const lastKey = `${last?.seq}:${pending.length}`;
  /** Pending entries at the last render: one more means the reader just sent a message. */
  const pendingBefore = useRef(pending.length);
  const ownNew = pending.length > pendingBefore.current || (last !== undefined && last.from === me);

  const before = firstSeq ?? channel.info.latestSeq + 1;
  const online = channel.info.state === "online";
  /** The `before` of the last automatic load, so that a failed or empty page is not fetched again. */
  const autoLoadedBefore = useRef<number | null>(null);

  const loadOlder = useCallback(async (): Promise<void> => {
    if (busy || !olderExist) return;
    const element = scroller.current;
    const page = await run(() => call("history", { channel: name, before }));
    if (page === undefined) return;
    if (element !== null) anchor.current = element.scrollHeight - element.scrollTop;
    dispatch({ type: "older", channel: name, messages: page.messages });
  }, [busy, olderExist, run, call, name, before, dispatch]);

  // A list too short to scroll never reaches its top (a channel joined again starts empty, so do
  // channels that were unreachable at page load): fetch older pages until the view fills.
  useEffect(() => {
    const element = scroller.current;
    if (element === null || !online || !olderExist || autoLoadedBefore.current === before) return;
    if (element.scrollHeight > element.clientHeight) return;
    autoLoadedBefore.current = before;
    void loadOlder();
  }, [online, olderExist, before, loadOlder]);

  // Older messages were prepended: keep the same message under the reader's eyes.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null || anchor.current === null || firstSeq === undefined) return;
    element.scrollTop = element.scrollHeight - anchor.current;
    anchor.current = null;
  }, [firstSeq]);

  // New messages at the end: follow them while the reader is at the bottom, and always show one
  // the reader sent.
  useLayoutEffect(() => {
    const element = scroller.current;
    pendingBefore.current = pending.length;
    if (element === null || lastKey === "" || !(atBottom.current || ownNew)) return;
    element.scrollTop = element.scrollHeight;
    atBottom.current = true;
  }, [lastKey, ownNew, pending.length]);

  function onScroll(): void {
    const element = scroller.current;
    if (element === null) return;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_TO_BOTTOM_PX;
    if (element.scrollTop < LOAD_OLDER_THRESHOLD_PX) void loadOlder();
  }

  return (
    <div className="messages-scroller" ref={scroller} onScroll={onScroll}>
      {olderExist && (
        <div className="older">
          <button type="button" disabled={busy} onClick={() => void loadOlder()}>
            {busy ? "Loading older messages…" : "Load older messages"}
          </button>
        </div>
      )}
      {channel.messages.length === 0 && pending.length === 0 && !olderExist && (
        <p className="empty">No messages yet. Say hello!</p>
      )}
      <ol className="messages" role="log" aria-live="polite" aria-label={`#${name} messages`}>
        {channel.messages.map((message) => {
          const own = message.from === me;
          return (
            <li key={message.seq} className={own ? "message own" : "message"} data-seq={message.seq}>
              <div className="message-meta">
                <span className="from">{own ? "You" : message.from}</span>
                <time dateTime={message.ts}>{formatTime(message.ts)}</time>
              </div>
              <p className="text">{message.text}</p>
            </li>
          );
        })}
        {pending.map((entry) => (
          <li key={`pending-${entry.msgId}`} className="message own pending" data-msg-id={entry.msgId}>
            <div className="message-meta">
              <span className="from">You</span>
              <span className="pending-label">{pendingLabel(entry)}</span>
              <CancelPending entry={entry} />
            </div>
            <p className="text">{entry.text}</p>
          </li>
        ))}
      </ol>
    </div>
  );
}
