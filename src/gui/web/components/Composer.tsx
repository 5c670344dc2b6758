import { type FormEvent, type KeyboardEvent, useRef, useState } from "react";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function Composer({ channel, disabledReason }: { channel: string; disabledReason: string | null }) {
  const { call } = useApp();
  const { run } = useRequest();
  const [text, setText] = useState("");
  /** The sends in flight, chained so that messages typed quickly go out in the order typed. */
  const sending = useRef<Promise<void>>(Promise.resolve());
  const disabled = disabledReason !== null;

  function send(): void {
    const sent = text;
    if (disabled || sent.trim() === "") return;
    // The box empties at once so the next message can be typed; a refused text comes back.
    setText("");
    sending.current = sending.current.then(async () => {
      // The message itself shows from the peer's events (pending, then delivered).
      const outcome = await run(() => call("send", { channel, text: sent }));
      if (outcome === undefined) setText((current) => (current === "" ? sent : current));
    });
  }

  function onSubmit(event: FormEvent): void {
    event.preventDefault();
    send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    // Enter sends, Shift+Enter starts a new line; keys that finish an IME composition are left alone.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={onSubmit}>
      <label htmlFor="composer-text" className="visually-hidden">
        Message #{channel}
      </label>
      <textarea
        id="composer-text"
        rows={2}
        value={text}
        disabled={disabled}
        placeholder={disabledReason ?? `Message #${channel} (Enter sends, Shift+Enter for a new line)`}
        aria-describedby={disabled ? "composer-disabled" : undefined}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="primary" disabled={disabled || text.trim() === ""}>
        Send
      </button>
      {disabled && (
        <p id="composer-disabled" className="hint composer-note">
          {disabledReason}
        </p>
      )}
    </form>
  );
}
