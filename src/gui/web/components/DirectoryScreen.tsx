import { useEffect, useState } from "react";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";
import { Composer } from "./Composer.js";
import { Diagnostics } from "./Diagnostics.js";
import { HostForm } from "./HostForm.js";
import { OnlineUsers } from "./OnlineUsers.js";
import { NotJoinedOutbox } from "./PendingMessages.js";

export function DirectoryScreen() {
  const { state, call, dispatch } = useApp();
  const refresh = useRequest();
  const joining = useRequest();
  const refreshDirectory = refresh.run;
  /** The channel not joined yet that the user is writing to: the message waits until they join. */
  const [draft, setDraft] = useState<string | null>(null);

  useEffect(() => {
    void refreshDirectory(async () =>
      dispatch({ type: "directory", channels: await call("listChannels", {}) }),
    );
  }, [refreshDirectory, call, dispatch]);

  async function join(channel: string): Promise<void> {
    const joined = await joining.run(() => call("join", { channel }));
    if (joined === undefined) return;
    dispatch({ type: "joinedChannel", channel: joined });
    dispatch({ type: "navigate", screen: { name: "chat", channel } });
  }

  const joinedNames = new Set(state.channels.map((channel) => channel.info.name));
  const channels = [...state.directory].sort((a, b) => a.name.localeCompare(b.name));

  return (
    <main className="screen directory" aria-labelledby="directory-heading">
      <div className="screen-header">
        <h1 id="directory-heading">Channel directory</h1>
        <button
          type="button"
          disabled={refresh.busy}
          onClick={() =>
            void refresh.run(async () =>
              dispatch({ type: "directory", channels: await call("listChannels", {}) }),
            )
          }
        >
          {refresh.busy ? "Refreshing…" : "Refresh"}
        </button>
      </div>
      {channels.length === 0 ? (
        <p className="empty">
          No channels yet. {state.identity?.role === "user" && "Host the first one below."}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="directory-table">
            <caption className="visually-hidden">Channels listed by the tracker</caption>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Owner</th>
                <th scope="col">Access</th>
                <th scope="col">Moderated</th>
                <th scope="col">Status</th>
                <th scope="col">Members</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {channels.map((listing) => (
                <tr key={listing.name} data-channel={listing.name}>
                  <th scope="row">#{listing.name}</th>
                  <td data-label="Owner">{listing.owner}</td>
                  <td data-label="Access">{listing.view === "private" ? "Private" : "Public"}</td>
                  <td data-label="Moderated">{listing.moderated ? "Yes" : "No"}</td>
                  <td data-label="Status">
                    <span className={listing.online ? "status status-online" : "status status-offline"}>
                      {listing.online ? "Online" : "Offline"}
                    </span>
                    {listing.online && listing.reach === "relay" ? (
                      <span
                        className="reach"
                        title="its host is behind a router: members reach it through the tracker's relay, encrypted end to end"
                      >
                        {" "}
                        via relay
                      </span>
                    ) : null}
                    {listing.online && listing.reach === "unreachable" ? (
                      <span className="reach" title="the tracker could not reach its host and does not relay">
                        {" "}
                        maybe unreachable
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Members">{listing.members}</td>
                  <td className="action">
                    {joinedNames.has(listing.name) ? (
                      <button
                        type="button"
                        aria-label={`Open #${listing.name}`}
                        onClick={() =>
                          dispatch({ type: "navigate", screen: { name: "chat", channel: listing.name } })
                        }
                      >
                        Open
                      </button>
                    ) : (
                      <>
                        <button
                          type="button"
                          className="primary"
                          aria-label={`Join #${listing.name}`}
                          disabled={joining.busy}
                          onClick={() => void join(listing.name)}
                        >
                          Join
                        </button>
                        {state.identity?.role === "user" && (
                          <button
                            type="button"
                            aria-label={`Write to #${listing.name} before joining`}
                            onClick={() => setDraft(listing.name)}
                          >
                            Write
                          </button>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {draft !== null && !joinedNames.has(draft) && (
        <section className="card draft" aria-labelledby="draft-heading">
          <div className="screen-header">
            <h2 id="draft-heading">Write to #{draft} before joining</h2>
            <button type="button" onClick={() => setDraft(null)}>
              Close
            </button>
          </div>
          <p className="hint">It waits in your outbox and is delivered when you join #{draft}.</p>
          <Composer channel={draft} disabledReason={null} />
        </section>
      )}
      <NotJoinedOutbox />
      <div className="directory-panels">
        <HostForm />
        <OnlineUsers />
      </div>
      <Diagnostics />
    </main>
  );
}
