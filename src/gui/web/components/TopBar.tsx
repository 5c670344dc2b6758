import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function TopBar({ menuOpen, onToggleMenu }: { menuOpen: boolean; onToggleMenu(): void }) {
  const { state, call, dispatch } = useApp();
  const { busy, run } = useRequest();
  // Without a live connection the peer cannot act on these controls: show them once it is back.
  const identity = state.ready ? state.identity : null;

  // The box follows the click at once and flips back if the peer refuses.
  async function toggleInvisible(invisible: boolean): Promise<void> {
    dispatch({ type: "invisible", invisible });
    const done = await run(() => call("setInvisible", { invisible }));
    if (done === undefined) dispatch({ type: "invisible", invisible: !invisible });
  }

  return (
    <header className="topbar">
      {identity !== null && (
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="sidebar"
          onClick={onToggleMenu}
        >
          Menu
        </button>
      )}
      <span className="brand">hychat</span>
      {state.tracker === "disconnected" && (
        <span className="pill pill-warn" role="status">
          Tracker offline
        </span>
      )}
      {identity !== null && (
        <div className="identity">
          <span className="whoami">
            Signed in as <strong>{identity.username}</strong>
            {identity.role === "guest" && <span className="pill">guest</span>}
          </span>
          {identity.role === "user" && (
            <label className="toggle">
              <input
                type="checkbox"
                checked={identity.invisible}
                disabled={busy}
                onChange={(event) => void toggleInvisible(event.target.checked)}
              />
              Invisible
            </label>
          )}
          <button type="button" disabled={busy} onClick={() => void run(() => call("signOut", {}))}>
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}
