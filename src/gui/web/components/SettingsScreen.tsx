import { type FormEvent, useEffect, useState } from "react";
import type { View } from "../../../protocol/tracker-schemas.js";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";
import { InfoList, useChannelInfo } from "./InfoPanel.js";

function authorizedFrom(info: Record<string, unknown> | null): string[] | null {
  const list = info?.authorized;
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === "string") : null;
}

export function SettingsScreen({ channel }: { channel: string }) {
  const { state, call, dispatch } = useApp();
  const saving = useRequest();
  const authorizing = useRequest();
  const unhosting = useRequest();
  const { info, busy: infoBusy, reload } = useChannelInfo(channel);
  const hosted = state.hosted.find((item) => item.name === channel);
  const [view, setView] = useState<View>(hosted?.view ?? "public");
  const [moderated, setModerated] = useState(hosted?.moderated ?? false);
  const [username, setUsername] = useState("");
  const [authorized, setAuthorized] = useState<string[] | null>(null);
  const currentView = hosted?.view;
  const currentModerated = hosted?.moderated;

  // Settings changed elsewhere (the CLI, another tab): show what the channel has now.
  useEffect(() => {
    if (currentView !== undefined) setView(currentView);
    if (currentModerated !== undefined) setModerated(currentModerated);
  }, [currentView, currentModerated]);

  if (hosted === undefined) {
    return (
      <main className="screen">
        <p className="empty">You do not host #{channel}: only its owner can change its settings.</p>
      </main>
    );
  }

  const authorizedUsers = authorized ?? authorizedFrom(info) ?? [];
  const joined = state.channels.some((item) => item.info.name === channel);

  async function save(event: FormEvent): Promise<void> {
    event.preventDefault();
    const result = await saving.run(() => call("setView", { channel, view, moderated }));
    if (result === undefined) return;
    dispatch({ type: "peer", event: { type: "settings", channel, ...result } });
    dispatch({
      type: "toast",
      level: "info",
      text: `#${channel} is now ${result.view}${result.moderated ? " and moderated" : ""}.`,
    });
    reload();
  }

  async function authorize(grant: boolean, who: string): Promise<void> {
    const name = who.trim();
    if (name === "") return;
    const list = await authorizing.run(() => call("authorize", { channel, username: name, grant }));
    if (list === undefined) return;
    setAuthorized(list);
    reload();
    if (who === username) setUsername("");
    dispatch({
      type: "toast",
      level: "info",
      text: grant
        ? `${name} is authorized in #${channel}.`
        : `${name} is no longer authorized in #${channel}.`,
    });
  }

  async function unhost(): Promise<void> {
    const done = await unhosting.run(() => call("unhost", { channel }));
    if (done !== undefined) dispatch({ type: "navigate", screen: { name: "directory" } });
  }

  return (
    <main className="screen settings" aria-labelledby="settings-heading">
      <div className="screen-header">
        <h1 id="settings-heading">Settings for #{channel}</h1>
        {joined && (
          <button
            type="button"
            onClick={() => dispatch({ type: "navigate", screen: { name: "chat", channel } })}
          >
            Back to chat
          </button>
        )}
      </div>
      <div className="settings-grid">
        <section className="card" aria-labelledby="access-heading">
          <h2 id="access-heading">Access</h2>
          <form onSubmit={(event) => void save(event)}>
            <fieldset>
              <legend>Who can join</legend>
              <label className="check">
                <input
                  type="radio"
                  name="view"
                  value="public"
                  checked={view === "public"}
                  onChange={() => setView("public")}
                />
                Public: anyone can join
              </label>
              <label className="check">
                <input
                  type="radio"
                  name="view"
                  value="private"
                  checked={view === "private"}
                  onChange={() => setView("private")}
                />
                Private: only you and authorized users
              </label>
            </fieldset>
            <label className="check">
              <input
                type="checkbox"
                checked={moderated}
                onChange={(event) => setModerated(event.target.checked)}
              />
              Moderated: only you and authorized users can send
            </label>
            <div className="actions">
              <button type="submit" className="primary" disabled={saving.busy}>
                {saving.busy ? "Saving…" : "Save settings"}
              </button>
            </div>
          </form>
        </section>
        <section className="card" aria-labelledby="authorized-heading">
          <h2 id="authorized-heading">Authorized users</h2>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void authorize(true, username);
            }}
          >
            <label htmlFor="authorize-username">Username</label>
            <input
              id="authorize-username"
              value={username}
              autoComplete="off"
              onChange={(event) => setUsername(event.target.value)}
            />
            <div className="actions">
              <button type="submit" className="primary" disabled={authorizing.busy || username.trim() === ""}>
                Authorize
              </button>
              <button
                type="button"
                disabled={authorizing.busy || username.trim() === ""}
                onClick={() => void authorize(false, username)}
              >
                Revoke
              </button>
            </div>
          </form>
          {authorizedUsers.length === 0 ? (
            <p className="hint">Nobody is authorized yet.</p>
          ) : (
            <ul className="people" aria-label="Authorized users">
              {authorizedUsers.map((user) => (
                <li key={user}>
                  <span>{user}</span>
                  <button
                    type="button"
                    className="link-button"
                    aria-label={`Revoke ${user}`}
                    disabled={authorizing.busy}
                    onClick={() => void authorize(false, user)}
                  >
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="info-heading">
          <div className="card-header">
            <h2 id="info-heading">Channel info</h2>
            <button type="button" disabled={infoBusy} onClick={reload}>
              Refresh
            </button>
          </div>
          {info === null ? (
            <p className="hint">{infoBusy ? "Loading…" : "Join the channel to see its live state."}</p>
          ) : (
            <InfoList info={info} />
          )}
        </section>
        <section className="card danger" aria-labelledby="unhost-heading">
          <h2 id="unhost-heading">Stop hosting</h2>
          <p className="hint">
            Members are removed and the channel leaves the directory until you host it again.
          </p>
          <button type="button" disabled={unhosting.busy} onClick={() => void unhost()}>
            Stop hosting #{channel}
          </button>
        </section>
      </div>
    </main>
  );
}
