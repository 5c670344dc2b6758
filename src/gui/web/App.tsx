import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { BridgeCallError, BridgeClient } from "./bridge-client.js";
import { ChatScreen } from "./components/ChatScreen.js";
import { DirectoryScreen } from "./components/DirectoryScreen.js";
import { SettingsScreen } from "./components/SettingsScreen.js";
import { Sidebar } from "./components/Sidebar.js";
import { SignIn } from "./components/SignIn.js";
import { Toasts } from "./components/Toasts.js";
import { TopBar } from "./components/TopBar.js";
import { AppContext, type AppContextValue, type Call } from "./context.js";
import { describeError } from "./errors.js";
import { initialState, reduce } from "./state.js";

/** Reconnect attempts after which the page suggests the peer may have stopped. */
const ATTEMPTS_BEFORE_HINT = 3;

export function App() {
  const [state, dispatch] = useReducer(reduce, initialState);
  const clientRef = useRef<BridgeClient | null>(null);
  const [failedAttempts, setFailedAttempts] = useState(0);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    const client = new BridgeClient(BridgeClient.urlFor(window.location), {
      onStatus: (status) => {
        dispatch({ type: "connection", status });
        if (status === "open") setFailedAttempts(0);
        if (status === "closed") setFailedAttempts((count) => count + 1);
      },
      onSnapshot: (snapshot) => dispatch({ type: "snapshot", snapshot }),
      onEvent: (event) => dispatch({ type: "peer", event }),
    });
    clientRef.current = client;
    client.start();
    return () => {
      client.stop();
      clientRef.current = null;
    };
  }, []);

  const call = useCallback<Call>((method, params) => {
    const client = clientRef.current;
    if (client === null)
      return Promise.reject(new BridgeCallError("CONNECTION_CLOSED", "not connected to your peer"));
    return client.call(method, params);
  }, []);
  const reportError = useCallback((error: unknown) => {
    dispatch({ type: "toast", level: "error", text: describeError(error) });
  }, []);
  const context = useMemo<AppContextValue>(
    () => ({ state, dispatch, call, reportError }),
    [state, call, reportError],
  );

  const { screen } = state;
  let main = <DirectoryScreen />;
  if (screen.name === "chat") main = <ChatScreen key={screen.channel} channel={screen.channel} />;
  if (screen.name === "settings") main = <SettingsScreen key={screen.channel} channel={screen.channel} />;

  return (
    <AppContext.Provider value={context}>
      <div className="app">
        <TopBar menuOpen={menuOpen} onToggleMenu={() => setMenuOpen((open) => !open)} />
        {state.connection !== "open" && (
          <div className="banner banner-warn" role="status">
            {state.connection === "connecting"
              ? "Connecting to your hychat peer…"
              : "Lost the connection to your hychat peer. Reconnecting…"}
            {failedAttempts >= ATTEMPTS_BEFORE_HINT &&
              " Is hychat still running? If it was restarted, open the new address it printed."}
          </div>
        )}
        {!state.ready ? (
          <main className="loading" aria-busy="true">
            <p>Waiting for your peer…</p>
          </main>
        ) : state.identity === null ? (
          <SignIn />
        ) : (
          <div className={menuOpen ? "layout menu-open" : "layout"}>
            <Sidebar onNavigate={() => setMenuOpen(false)} />
            {main}
          </div>
        )}
        <Toasts />
      </div>
    </AppContext.Provider>
  );
}
