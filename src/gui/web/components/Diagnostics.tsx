import { useState } from "react";
import type { DebugInfo } from "../../../api/index.js";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

/** The same client, host and tracker state the CLI's debug command prints. */
export function Diagnostics() {
  const { call } = useApp();
  const { busy, run } = useRequest();
  const [info, setInfo] = useState<DebugInfo | null>(null);

  function load(): void {
    void run(async () => setInfo(await call("debugInfo", {})));
  }

  return (
    <details
      className="card diagnostics"
      onToggle={(event) => {
        if (event.currentTarget.open && info === null) load();
      }}
    >
      <summary>Diagnostics</summary>
      <div className="actions">
        <button type="button" disabled={busy} onClick={load}>
          {busy ? "Loading…" : "Reload"}
        </button>
      </div>
      {info !== null && <pre className="debug">{JSON.stringify(info, null, 2)}</pre>}
    </details>
  );
}
