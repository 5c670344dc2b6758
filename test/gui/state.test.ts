import assert from "node:assert/strict";
import { test } from "node:test";
import type { JoinedChannel } from "../../src/api/index.js";
import type { Snapshot } from "../../src/gui/messages.js";
import {
  type AppState,
  hasOlder,
  initialState,
  mergeMessages,
  pendingFor,
  pendingNotJoined,
  reduce,
} from "../../src/gui/web/state.js";
import type { ChatMessage } from "../../src/protocol/host-schemas.js";

function message(seq: number, from = "bob", text = `text ${seq}`): ChatMessage {
  return {
    channel: "lobby",
    seq,
    msgId: `id-${seq}`,
    from,
    text,
    ts: "2026-11-25T09:30:00.123Z",
    sentAt: null,
    sig: null,
    cert: null,
  };
}

const lobby: JoinedChannel = {
  name: "lobby",
  owner: "bob",
  view: "public",
  moderated: false,
  role: "user",
  state: "online",
  members: [{ username: "bob", role: "user" }],
  lastSeq: 3,
  latestSeq: 3,
  unread: 1,
  pending: 0,
};

function signedIn(): AppState {
  const snapshot: Snapshot = {
    identity: { username: "alice", role: "user", invisible: false },
    directory: [],
    joined: [{ channel: lobby, history: [message(2), message(3)], hasMore: true }],
    hosted: [],
    outbox: [],
  };
  return reduce(initialState, { type: "snapshot", snapshot });
}

test("gui state - a snapshot fills identity, channels and unread counts", () => {
  const state = signedIn();
  assert.equal(state.ready, true);
  assert.equal(state.identity?.username, "alice");
  assert.deepEqual(
    state.channels[0]?.messages.map((m) => m.seq),
    [2, 3],
  );
  assert.equal(state.channels[0]?.unread, 1);
  assert.equal(hasOlder(state.channels[0] as NonNullable<(typeof state.channels)[0]>), true);
});

test("gui state - messages merge in seq order without duplicates; unread counts only unseen ones", () => {
  let state = signedIn();
  state = reduce(state, { type: "peer", event: { type: "message", message: message(4), own: false } });
  state = reduce(state, { type: "peer", event: { type: "message", message: message(4), own: false } });
  assert.deepEqual(
    state.channels[0]?.messages.map((m) => m.seq),
    [2, 3, 4],
  );
  assert.equal(state.channels[0]?.unread, 2);
  assert.equal(state.channels[0]?.info.latestSeq, 4);
  state = reduce(state, { type: "navigate", screen: { name: "chat", channel: "lobby" } });
  assert.equal(state.channels[0]?.unread, 0);
  state = reduce(state, { type: "peer", event: { type: "message", message: message(5), own: false } });
  assert.equal(state.channels[0]?.unread, 0, "the channel on screen stays read");
  state = reduce(state, { type: "older", channel: "lobby", messages: [message(1), message(2)] });
  assert.deepEqual(
    state.channels[0]?.messages.map((m) => m.seq),
    [1, 2, 3, 4, 5],
  );
  assert.equal(hasOlder(state.channels[0] as NonNullable<(typeof state.channels)[0]>), false);
  assert.deepEqual(
    mergeMessages([message(3)], [message(1), message(3, "bob", "new")]).map((m) => m.text),
    ["text 1", "new"],
  );
});

test("gui state - a queued message stays pending until delivered, then becomes a normal message", () => {
  let state = signedIn();
  const entry = {
    channel: "lobby",
    msgId: "out-1",
    text: "hi there",
    sentAt: "2026-11-25T10:00:00.000Z",
    position: 1,
  };
  state = reduce(state, { type: "peer", event: { type: "queued", entry, reason: "sending" } });
  state = reduce(state, { type: "peer", event: { type: "queued", entry, reason: "unreachable" } });
  assert.deepEqual(
    pendingFor(state, "lobby").map((pending) => pending.reason),
    ["unreachable"],
  );
  state = reduce(state, {
    type: "peer",
    event: { type: "delivered", channel: "lobby", msgId: "out-1", seq: 4 },
  });
  assert.equal(pendingFor(state, "lobby").length, 0);
  assert.deepEqual(state.channels[0]?.messages.at(-1)?.text, "hi there");
  assert.equal(state.channels[0]?.messages.at(-1)?.from, "alice");
  // The host's own copy then replaces the stand-in without duplicating it.
  state = reduce(state, {
    type: "peer",
    event: { type: "message", message: message(4, "alice", "hi there"), own: true },
  });
  assert.equal(state.channels[0]?.messages.filter((m) => m.seq === 4).length, 1);
  assert.equal(state.channels[0]?.unread, 1, "own messages are never unread");
});

test("gui state - a message written before joining is pending as not joined until the user cancels it", () => {
  const entry = {
    channel: "later",
    msgId: "n-1",
    text: "hello",
    sentAt: "2026-11-25T10:00:00.000Z",
    position: 1,
  };
  let state = reduce(signedIn(), { type: "peer", event: { type: "queued", entry, reason: "not-joined" } });
  assert.deepEqual(
    pendingNotJoined(state).map((pending) => pending.msgId),
    ["n-1"],
  );
  state = reduce(state, {
    type: "peer",
    event: {
      type: "dropped",
      channel: "later",
      msgId: "n-1",
      reason: "cancelled",
      code: "CANCELLED",
      message: "cancelled",
    },
  });
  assert.deepEqual(pendingNotJoined(state), []);
  assert.deepEqual(state.toasts, []);
});

test("gui state - removal from a channel leaves its screen and says why", () => {
  let state = reduce(signedIn(), { type: "navigate", screen: { name: "chat", channel: "lobby" } });
  state = reduce(state, {
    type: "peer",
    event: { type: "left", channel: "lobby", reason: "PRIVATE_CHANNEL" },
  });
  assert.equal(state.channels.length, 0);
  assert.deepEqual(state.screen, { name: "directory" });
  assert.match(state.toasts.at(-1)?.text ?? "", /#lobby is now private/);
  const left = reduce(signedIn(), {
    type: "peer",
    event: { type: "left", channel: "lobby", reason: "user" },
  });
  assert.equal(left.toasts.length, 0);
});

test("gui state - presence, link and settings events update the channel live", () => {
  let state = signedIn();
  state = reduce(state, {
    type: "peer",
    event: { type: "presence", channel: "lobby", username: "carol", role: "user", status: "online" },
  });
  assert.deepEqual(
    state.channels[0]?.info.members.map((m) => m.username),
    ["bob", "carol"],
  );
  state = reduce(state, {
    type: "peer",
    event: { type: "presence", channel: "lobby", username: "bob", role: "user", status: "offline" },
  });
  assert.deepEqual(
    state.channels[0]?.info.members.map((m) => m.username),
    ["carol"],
  );
  state = reduce(state, { type: "peer", event: { type: "link", channel: "lobby", state: "unreachable" } });
  assert.equal(state.channels[0]?.info.state, "unreachable");
  state = reduce(state, {
    type: "peer",
    event: { type: "settings", channel: "lobby", view: "private", moderated: true },
  });
  assert.equal(state.channels[0]?.info.view, "private");
  assert.equal(state.channels[0]?.info.moderated, true);
});

test("gui state - signing out forgets channels and returns to the start", () => {
  let state = reduce(signedIn(), { type: "navigate", screen: { name: "chat", channel: "lobby" } });
  state = reduce(state, { type: "peer", event: { type: "identity", identity: null } });
  assert.equal(state.identity, null);
  assert.equal(state.channels.length, 0);
  assert.deepEqual(state.screen, { name: "directory" });
});

test("gui state - toasts are capped and dismissed by id", () => {
  let state = initialState;
  for (let i = 0; i < 8; i += 1) state = reduce(state, { type: "toast", level: "error", text: `e${i}` });
  assert.equal(state.toasts.length, 5);
  const first = state.toasts[0]?.id ?? 0;
  state = reduce(state, { type: "dismiss", id: first });
  assert.equal(state.toasts.length, 4);
});

test("gui state - a dropped outbox entry stops showing as pending, without a toast of its own", () => {
  const entry = (msgId: string, position: number) => ({
    channel: "lobby",
    msgId,
    text: `text of ${msgId}`,
    sentAt: "2026-11-25T09:31:00.000Z",
    position,
  });
  let state = reduce(signedIn(), {
    type: "peer",
    event: { type: "queued", entry: entry("m-1", 1), reason: "unreachable" },
  });
  state = reduce(state, {
    type: "peer",
    event: { type: "queued", entry: entry("m-2", 2), reason: "unreachable" },
  });
  state = reduce(state, {
    type: "peer",
    event: {
      type: "dropped",
      channel: "lobby",
      msgId: "m-1",
      reason: "refused",
      code: "NOT_AUTHORIZED",
      message: "only authorized users may send",
    },
  });
  assert.deepEqual(
    pendingFor(state, "lobby").map((pending) => pending.msgId),
    ["m-2"],
  );
  // The refusal is shown once: by the failed send, or by the peer's notice that follows.
  assert.equal(state.toasts.length, 0);
  state = reduce(state, {
    type: "peer",
    event: { type: "notice", level: "error", code: "NOT_AUTHORIZED", text: "1 queued message(s) dropped" },
  });
  assert.deepEqual(
    state.toasts.map((toast) => toast.text),
    ["1 queued message(s) dropped (NOT_AUTHORIZED)"],
  );
});

test("gui state - signing in clears the errors of earlier attempts, later errors stay", () => {
  let state = reduce(initialState, { type: "toast", level: "error", text: "Wrong username or password." });
  state = reduce(state, { type: "toast", level: "info", text: "hello" });
  const identity = { username: "alice", role: "user", invisible: false } as const;
  state = reduce(state, { type: "peer", event: { type: "identity", identity } });
  assert.deepEqual(
    state.toasts.map((toast) => toast.text),
    ["hello"],
  );
  state = reduce(state, { type: "toast", level: "error", text: "later" });
  state = reduce(state, {
    type: "peer",
    event: { type: "identity", identity: { ...identity, invisible: true } },
  });
  assert.deepEqual(
    state.toasts.map((toast) => toast.text),
    ["hello", "later"],
  );
});
