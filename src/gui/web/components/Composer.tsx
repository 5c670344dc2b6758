import { type FormEvent, type KeyboardEvent, useRef, useState } from "react";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function Composer({ channel, disabledReason }: { channel: string; disabledReason: string | null }) {
  const { call, dispatch } = useApp();
  const { busy, run } = useRequest();
  const [text, setText] = useState("");
  const sending = useRef(false);
  const disabled = disabledReason !== null;

  async function send(): Promise<void> {
    if (sending.current || disabled || text.trim() === "") return;
    sending.current = true;
    const sent = text;
    const outcome = await run(() => call("send", { channel, text: sent }));
    sending.current = false;
    if (outcome === undefined) return;
    dispatch({ type: "sent", channel, text: sent, outcome });
    setText((current) => (current === sent ? "" : current));
  }

  function onSubmit(event: FormEvent): void {
    event.preventDefault();
    void send();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    // Enter sends, Shift+Enter starts a new line; keys that finish an IME composition are left alone.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
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
      <button type="submit" className="primary" disabled={disabled || busy || text.trim() === ""}>
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
