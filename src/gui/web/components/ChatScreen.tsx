import { useEffect, useState } from "react";
import { useApp } from "../context.js";
import { pendingFor } from "../state.js";
import { useRequest } from "../use-request.js";
import { Composer } from "./Composer.js";
import { InfoPanel } from "./InfoPanel.js";
import { MembersPanel } from "./MembersPanel.js";
import { MessageList } from "./MessageList.js";

type SidePanel = "members" | "info";

export function ChatScreen({ channel }: { channel: string }) {
  const { state, call, dispatch } = useApp();
  const leaving = useRequest();
  const [panel, setPanel] = useState<SidePanel>("members");
  const [panelOpen, setPanelOpen] = useState(false);
  const joined = state.channels.find((item) => item.info.name === channel);
  const latestSeq = joined?.info.latestSeq ?? 0;

  // Reading the channel here marks it read on the peer too (its unread count survives restarts).
  useEffect(() => {
    if (latestSeq > 0) call("markRead", { channel }).catch(() => undefined);
  }, [call, channel, latestSeq]);

  if (joined === undefined) {
    return (
      <main className="screen">
        <p className="empty">You are not in #{channel}.</p>
        <button type="button" onClick={() => dispatch({ type: "navigate", screen: { name: "directory" } })}>
          Back to the directory
        </button>
      </main>
    );
  }

  const { info } = joined;
  const isOwner = state.identity?.username === info.owner;
  const isGuest = state.identity?.role === "guest";

  function showPanel(next: SidePanel): void {
    setPanelOpen(panel !== next || !panelOpen);
    setPanel(next);
  }

  async function leave(): Promise<void> {
    const done = await leaving.run(() => call("leave", { channel }));
    if (done !== undefined) dispatch({ type: "navigate", screen: { name: "directory" } });
  }

  return (
    <main className={panelOpen ? "screen chat panel-open" : "screen chat"} aria-labelledby="chat-heading">
      <div className="chat-header">
        <div className="chat-title">
          <h1 id="chat-heading">#{channel}</h1>
          <span className="owner">hosted by {info.owner}</span>
          <span className="pill">{info.view}</span>
          {info.moderated && <span className="pill">moderated</span>}
          {info.state !== "online" && <span className={`pill pill-${info.state}`}>{info.state}</span>}
        </div>
        <div className="chat-actions">
          <button
            type="button"
            aria-pressed={panelOpen && panel === "members"}
            onClick={() => showPanel("members")}
          >
            {info.state === "online" ? `Members (${info.members.length})` : "Members"}
          </button>
          <button
            type="button"
            aria-pressed={panelOpen && panel === "info"}
            onClick={() => showPanel("info")}
          >
            Info
          </button>
          {isOwner && (
            <button
              type="button"
              onClick={() => dispatch({ type: "navigate", screen: { name: "settings", channel } })}
            >
              Settings
            </button>
          )}
          <button type="button" disabled={leaving.busy} onClick={() => void leave()}>
            Leave
          </button>
        </div>
      </div>
      {info.state === "unreachable" && (
        <div className="banner banner-warn link-banner" role="status">
          #{channel} is unreachable right now. Messages you send are kept and will be delivered when it is
          back.
        </div>
      )}
      {info.state === "connecting" && (
        <div className="banner link-banner" role="status">
          Connecting to #{channel}…
        </div>
      )}
      <div className="chat-body">
        <section className="conversation" aria-label={`Messages in #${channel}`}>
          <MessageList
            channel={joined}
            pending={pendingFor(state, channel)}
            me={state.identity?.username ?? ""}
          />
          <Composer
            channel={channel}
            disabledReason={isGuest ? "Guests can read but not send messages." : null}
          />
        </section>
        <aside className="side-panel" aria-label={panel === "members" ? "Members" : "Channel info"}>
          {panel === "members" ? <MembersPanel channel={joined} /> : <InfoPanel channel={channel} />}
        </aside>
      </div>
    </main>
  );
}
