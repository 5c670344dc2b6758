import { useApp } from "../context.js";
import type { ChannelView } from "../state.js";

export function MembersPanel({ channel }: { channel: ChannelView }) {
  const { state } = useApp();
  const { members, owner } = channel.info;
  const sorted = [...members].sort((a, b) => a.username.localeCompare(b.username));
  return (
    <div className="members">
      <h2>Online in #{channel.info.name}</h2>
      {state.identity?.invisible === true && (
        <p className="hint">You are invisible: others do not see you here.</p>
      )}
      {channel.info.state !== "online" ? (
        <p className="hint">Who is here shows again once #{channel.info.name} is reachable.</p>
      ) : sorted.length === 0 ? (
        <p className="hint">Nobody visible right now.</p>
      ) : (
        <ul className="people" aria-label="Online members">
          {sorted.map((member) => (
            <li key={member.username}>
              <span className="presence-dot" aria-hidden="true" />
              <span>{member.username}</span>
              {member.username === owner && <span className="pill">owner</span>}
              {member.role === "guest" && <span className="pill">guest</span>}
              {member.username === state.identity?.username && <span className="pill">you</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
