import { useApp } from "../context.js";
import type { Screen } from "../state.js";

export function Sidebar({ onNavigate }: { onNavigate(): void }) {
  const { state, dispatch } = useApp();
  const { screen } = state;

  function go(next: Screen): void {
    dispatch({ type: "navigate", screen: next });
    onNavigate();
  }

  return (
    <nav id="sidebar" className="sidebar" aria-label="Channels">
      <button
        type="button"
        className="nav-item"
        aria-current={screen.name === "directory" ? "page" : undefined}
        onClick={() => go({ name: "directory" })}
      >
        Channel directory
      </button>
      <h2 className="nav-heading">Joined</h2>
      {state.channels.length === 0 ? (
        <p className="nav-empty">No channels yet: join one from the directory.</p>
      ) : (
        <ul className="nav-list">
          {state.channels.map(({ info, unread }) => {
            const current = screen.name === "chat" && screen.channel === info.name;
            const label = `#${info.name}${unread > 0 ? `, ${unread} unread` : ""}${info.state === "online" ? "" : `, ${info.state}`}`;
            return (
              <li key={info.name}>
                <button
                  type="button"
                  className="nav-item"
                  aria-label={label}
                  aria-current={current ? "page" : undefined}
                  onClick={() => go({ name: "chat", channel: info.name })}
                >
                  <span className={`link-dot link-${info.state}`} aria-hidden="true" />
                  <span className="nav-name">#{info.name}</span>
                  {unread > 0 && (
                    <span className="badge" aria-hidden="true">
                      {unread}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {state.hosted.length > 0 && (
        <>
          <h2 className="nav-heading">Hosted by you</h2>
          <ul className="nav-list">
            {state.hosted.map((hosted) => (
              <li key={hosted.name}>
                <button
                  type="button"
                  className="nav-item"
                  aria-label={`Settings for #${hosted.name}`}
                  aria-current={
                    screen.name === "settings" && screen.channel === hosted.name ? "page" : undefined
                  }
                  onClick={() => go({ name: "settings", channel: hosted.name })}
                >
                  <span
                    className={`link-dot ${hosted.listed ? "link-online" : "link-unreachable"}`}
                    aria-hidden="true"
                  />
                  <span className="nav-name">#{hosted.name}</span>
                  <span className="nav-hint">settings</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </nav>
  );
}
