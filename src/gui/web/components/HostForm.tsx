import { type FormEvent, useState } from "react";
import { channelNameSchema } from "../../../protocol/names.js";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function HostForm() {
  const { state, call, dispatch } = useApp();
  const { busy, run } = useRequest();
  const [name, setName] = useState("");
  const [isPrivate, setPrivate] = useState(false);
  const [moderated, setModerated] = useState(false);
  const [invalid, setInvalid] = useState(false);

  if (state.identity?.role !== "user") {
    return (
      <section className="card" aria-labelledby="host-heading">
        <h2 id="host-heading">Host a channel</h2>
        <p className="hint">Guests cannot host channels. Sign out and create an account to host one.</p>
      </section>
    );
  }

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    const channel = name.trim();
    if (!channelNameSchema.safeParse(channel).success) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    const hosted = await run(() =>
      call("host", { channel, view: isPrivate ? "private" : "public", moderated }),
    );
    if (hosted === undefined) return;
    dispatch({ type: "hostedChannel", channel: hosted });
    setName("");
    // The owner chats in their channel like anyone else: join it right away.
    const joined = await run(() => call("join", { channel }));
    if (joined === undefined) return;
    dispatch({ type: "joinedChannel", channel: joined });
    dispatch({ type: "navigate", screen: { name: "chat", channel } });
  }

  return (
    <section className="card" aria-labelledby="host-heading">
      <h2 id="host-heading">Host a channel</h2>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="host-name">Channel name</label>
        <input
          id="host-name"
          value={name}
          maxLength={64}
          required
          aria-invalid={invalid}
          aria-describedby="host-name-hint"
          onChange={(event) => setName(event.target.value)}
        />
        <p id="host-name-hint" className={invalid ? "hint hint-error" : "hint"}>
          Letters, digits, '_', '.' or '-', up to 64 characters.
        </p>
        <label className="check">
          <input type="checkbox" checked={isPrivate} onChange={(event) => setPrivate(event.target.checked)} />
          Private: only you and users you authorize can join
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={moderated}
            onChange={(event) => setModerated(event.target.checked)}
          />
          Moderated: only you and users you authorize can send
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Hosting…" : "Host channel"}
          </button>
        </div>
      </form>
    </section>
  );
}
