import { useCallback, useEffect, useState } from "react";
import type { ChannelInfo } from "../../../api/index.js";
import { useApp } from "../context.js";
import { humanize } from "../format.js";
import { useRequest } from "../use-request.js";

function describeValue(value: unknown): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "none";
    return value
      .map((item) =>
        typeof item === "object" && item !== null && "username" in item
          ? String(item.username)
          : String(item),
      )
      .join(", ");
  }
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** Loads a channel's `channelInfo` (owners see everything, members the public part). */
export function useChannelInfo(channel: string): { info: ChannelInfo | null; busy: boolean; reload(): void } {
  const { call } = useApp();
  const { busy, run } = useRequest();
  const [info, setInfo] = useState<ChannelInfo | null>(null);
  /** Until the first answer the panel says "Loading…", not that the info is unavailable. */
  const [answered, setAnswered] = useState(false);
  const reload = useCallback(() => {
    void run(async () => setInfo(await call("channelInfo", { channel }))).finally(() => setAnswered(true));
  }, [run, call, channel]);
  useEffect(reload, [reload]);
  return { info, busy: busy || !answered, reload };
}

export function InfoList({ info }: { info: ChannelInfo }) {
  return (
    <dl className="info-list">
      {Object.entries(info).map(([key, value]) => (
        <div key={key} className="info-row">
          <dt>{humanize(key)}</dt>
          <dd>{describeValue(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function InfoPanel({ channel }: { channel: string }) {
  const { info, busy, reload } = useChannelInfo(channel);
  return (
    <div className="info">
      <div className="card-header">
        <h2>About #{channel}</h2>
        <button type="button" disabled={busy} onClick={reload}>
          Refresh
        </button>
      </div>
      {info === null ? (
        <p className="hint">{busy ? "Loading…" : "Not available right now."}</p>
      ) : (
        <InfoList info={info} />
      )}
    </div>
  );
}
