import { useEffect, useState } from "react";
import type { Role } from "../../../protocol/tracker-schemas.js";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function OnlineUsers() {
  const { call } = useApp();
  const { busy, run } = useRequest();
  const [users, setUsers] = useState<{ username: string; role: Role }[] | null>(null);

  useEffect(() => {
    void run(async () => setUsers(await call("onlineUsers", {})));
  }, [run, call]);

  return (
    <section className="card" aria-labelledby="online-heading">
      <div className="card-header">
        <h2 id="online-heading">Online now</h2>
        <button
          type="button"
          disabled={busy}
          onClick={() => void run(async () => setUsers(await call("onlineUsers", {})))}
        >
          Refresh
        </button>
      </div>
      {users === null ? (
        <p className="hint">{busy ? "Loading…" : "Not available."}</p>
      ) : users.length === 0 ? (
        <p className="hint">Nobody visible is online.</p>
      ) : (
        <ul className="people">
          {users.map((user) => (
            <li key={user.username}>
              <span className="presence-dot" aria-hidden="true" />
              {user.username}
              {user.role === "guest" && <span className="pill">guest</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
