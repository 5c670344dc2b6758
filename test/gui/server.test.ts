import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { type GuiServer, startGuiServer } from "../../src/gui/server.js";
import { resolveStaticPath } from "../../src/gui/static-files.js";
import { FakePeer, type RecordedCall } from "../helpers/fake-peer.js";

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "GET", headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A WebSocket client that queues what it receives, to wait on it message by message. */
class TestSocket {
  readonly received: Record<string, unknown>[] = [];
  private waiter: (() => void) | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.received.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.waiter?.();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, { headers });
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(socket));
      ws.once("error", reject);
    });
  }

  /** The first received message that matches (removed from the queue), waiting up to `ms`. */
  async next(
    match: (message: Record<string, unknown>) => boolean,
    ms = 5_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const index = this.received.findIndex(match);
      if (index >= 0) return this.received.splice(index, 1)[0] as Record<string, unknown>;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching message within ${ms} ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  reply(id: unknown): Promise<Record<string, unknown>> {
    return this.next((message) => message.id === id);
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}

function refusal(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => reject(new Error("the upgrade was accepted")));
    ws.once("error", () => undefined);
  });
}

/**
 * The peer the bridge tests drive: alice signed in and in lobby, which holds two messages; hosting
 * answers without an event, and any further join fails with a plain error (no wire code).
 */
async function aliceInLobby(): Promise<FakePeer<RecordedCall>> {
  const peer = new FakePeer<RecordedCall>((method, args) => ({ method, args }));
  peer.identity = { username: "alice", role: "user", invisible: false };
  peer.directory.push({
    name: "lobby",
    owner: "alice",
    view: "public",
    moderated: false,
    online: true,
    address: null,
    fingerprint: null,
    members: 1,
    reach: null,
  });
  peer.receive("lobby", "alice", "hello 1");
  peer.receive("lobby", "alice", "hello 2");
  await peer.join("lobby");
  peer.joinFailure = new Error("plain failure without a code");
  peer.announceHosting = false;
  return peer;
}

describe("gui server", () => {
  let dir: string;
  let staticDir: string;
  let peer: FakePeer<RecordedCall>;
  let gui: GuiServer;
  let port: number;
  let token: string;
  let origin: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "hychat-gui-"));
    staticDir = join(dir, "web");
    await mkdir(join(staticDir, "assets"), { recursive: true });
    await writeFile(join(staticDir, "index.html"), "<!doctype html><title>hychat</title>");
    await writeFile(join(staticDir, "assets", "app.js"), "export {};");
    await writeFile(join(staticDir, "assets", "app.css"), "body{}");
    await writeFile(join(dir, "secret.txt"), "secret");
    peer = await aliceInLobby();
    gui = await startGuiServer({ peer, staticDir });
    const url = new URL(gui.url);
    port = Number(url.port);
    token = url.searchParams.get("token") ?? "";
    origin = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await gui.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("gui - prints a loopback URL that carries a random base64url token", () => {
    assert.match(gui.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  test("gui - refuses a request without the access token or with a wrong one (403)", async () => {
    assert.equal((await get(port, "/")).status, 403);
    assert.equal((await get(port, "/assets/app.js")).status, 403);
    assert.equal((await get(port, "/?token=wrong")).status, 403);
    assert.equal((await get(port, "/", { cookie: `hychat_gui_${port}=wrong` })).status, 403);
  });

  test("gui - the token sets an HttpOnly SameSite=Strict cookie, then the page is served with a CSP", async () => {
    const first = await get(port, `/?token=${token}`);
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, "/");
    const cookie = String(first.headers["set-cookie"]);
    assert.match(cookie, new RegExp(`^hychat_gui_${port}=${token}; HttpOnly; SameSite=Strict; Path=/`));
    const page = await get(port, "/", { cookie: `hychat_gui_${port}=${token}` });
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>hychat<\/title>/);
    assert.equal(page.headers["content-type"], "text/html; charset=utf-8");
    const csp = String(page.headers["content-security-policy"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /https?:|\*/);
    assert.equal(page.headers["x-content-type-options"], "nosniff");
    const script = await get(port, "/assets/app.js", { cookie: `hychat_gui_${port}=${token}` });
    assert.equal(script.headers["content-type"], "text/javascript; charset=utf-8");
    const style = await get(port, "/assets/app.css", { cookie: `hychat_gui_${port}=${token}` });
    assert.equal(style.headers["content-type"], "text/css; charset=utf-8");
  });

  test("gui - refuses a foreign Origin and a foreign Host even with the token", async () => {
    const cookie = `hychat_gui_${port}=${token}`;
    assert.equal((await get(port, "/", { cookie, origin: "http://evil.example" })).status, 403);
    assert.equal((await get(port, "/", { cookie, origin: `http://localhost:${port + 1}` })).status, 403);
    assert.equal((await get(port, "/", { cookie, host: `evil.example:${port}` })).status, 403);
    assert.equal((await get(port, "/", { cookie, host: "127.0.0.1" })).status, 403);
    assert.equal((await get(port, "/", { cookie, host: `localhost:${port}` })).status, 200);
    assert.equal((await get(port, "/", { cookie, origin })).status, 200);
  });

  test("gui - never serves files outside the page directory", async () => {
    const cookie = `hychat_gui_${port}=${token}`;
    for (const path of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/%00",
      "/.hidden",
    ]) {
      const result = await get(port, path, { cookie });
      assert.equal(result.status, 404, path);
      assert.doesNotMatch(result.body, /secret/);
    }
    assert.equal(resolveStaticPath("/srv/web", "/../etc/passwd"), null);
    assert.equal(resolveStaticPath("/srv/web", "/a/%2e%2e/%2e%2e/x"), null);
    assert.equal(resolveStaticPath("/srv/web", "/%E0%A4%A"), null);
    assert.equal(resolveStaticPath("/srv/web", "/"), "/srv/web/index.html");
    assert.equal(resolveStaticPath("/srv/web", "/assets/a.js"), "/srv/web/assets/a.js");
  });

  test("gui - refuses a WebSocket without the token or from a foreign Origin", async () => {
    const ws = `ws://127.0.0.1:${port}/ws`;
    assert.equal(await refusal(ws, { origin }), 403);
    assert.equal(await refusal(`${ws}?token=${token}`, { origin: "http://evil.example" }), 403);
    assert.equal(await refusal(`${ws}?token=${token}`, { origin: "null" }), 403);
    assert.equal(await refusal(`ws://127.0.0.1:${port}/other?token=${token}`, { origin }), 404);
  });

  test("gui - a page gets a snapshot first, then replies and pushed events", async () => {
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/ws`, {
      origin,
      cookie: `hychat_gui_${port}=${token}`,
    });
    try {
      const { snapshot } = (await socket.next((message) => "snapshot" in message)) as {
        snapshot: { identity: { username: string }; directory: unknown[]; joined: { history: unknown[] }[] };
      };
      assert.equal(snapshot.identity.username, "alice");
      assert.equal(snapshot.directory.length, 1);
      assert.equal(snapshot.joined[0]?.history.length, 2);
      assert.deepEqual(peer.calls.find((call) => call.method === "history")?.args, [
        "lobby",
        { before: 3, limit: 50 },
      ]);

      socket.ws.send(JSON.stringify({ id: 1, method: "host", params: { channel: "news", view: "private" } }));
      const hosted = await socket.reply(1);
      assert.equal(hosted.ok, true);
      assert.deepEqual(peer.calls.at(-1), {
        method: "host",
        args: ["news", { view: "private", moderated: undefined }],
      });

      socket.ws.send(JSON.stringify({ id: "r2", method: "markRead", params: { channel: "lobby" } }));
      assert.deepEqual(await socket.reply("r2"), { id: "r2", ok: true, result: null });

      peer.emit({ type: "link", channel: "lobby", state: "unreachable" });
      const { event } = await socket.next((message) => "event" in message);
      assert.deepEqual(event, { type: "link", channel: "lobby", state: "unreachable" });
    } finally {
      await socket.close();
    }
  });

  test("gui - bad messages get an error with a code and the session keeps serving", async () => {
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/ws?token=${token}`);
    try {
      await socket.next((message) => "snapshot" in message);
      const errorCode = async (): Promise<string> => {
        const reply = await socket.next((message) => message.ok === false);
        return (reply.error as { code: string }).code;
      };
      socket.ws.send("{not json");
      assert.equal(await errorCode(), "BAD_MESSAGE");
      socket.ws.send(Buffer.from([1, 2, 3]));
      assert.equal(await errorCode(), "BAD_MESSAGE");
      socket.ws.send(JSON.stringify({ method: "listChannels" }));
      assert.equal(await errorCode(), "BAD_MESSAGE");
      socket.ws.send(JSON.stringify([1, 2]));
      assert.equal(await errorCode(), "BAD_MESSAGE");
      socket.ws.send(JSON.stringify({ id: 3, method: "close" }));
      assert.equal(await errorCode(), "UNKNOWN_METHOD");
      socket.ws.send(JSON.stringify({ id: 4, method: "__proto__" }));
      assert.equal(await errorCode(), "UNKNOWN_METHOD");
      socket.ws.send(JSON.stringify({ id: 5, method: "join", params: { channel: "bad name!" } }));
      const badParams = await socket.reply(5);
      assert.equal((badParams.error as { code: string }).code, "BAD_REQUEST");
      assert.match((badParams.error as { message: string }).message, /channel/);
      socket.ws.send(
        JSON.stringify({ id: 6, method: "send", params: { channel: "lobby", text: "x", extra: 1 } }),
      );
      assert.equal(((await socket.reply(6)).error as { code: string }).code, "BAD_REQUEST");
      socket.ws.send(
        JSON.stringify({ id: 7, method: "signIn", params: { username: "bob", password: "nope-nope" } }),
      );
      assert.deepEqual((await socket.reply(7)).error, {
        code: "BAD_CREDENTIALS",
        message: "wrong username or password",
      });
      socket.ws.send(JSON.stringify({ id: 8, method: "join", params: { channel: "lobby" } }));
      assert.equal(((await socket.reply(8)).error as { code: string }).code, "INTERNAL_ERROR");
      socket.ws.send(JSON.stringify({ id: 9, method: "listChannels", params: {} }));
      assert.equal((await socket.reply(9)).ok, true);
    } finally {
      await socket.close();
    }
  });

  test("gui - closing a page unsubscribes it from the peer, and a late reply is dropped", async () => {
    const before = peer.listeners.size;
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/ws?token=${token}`);
    await socket.next((message) => "snapshot" in message);
    assert.equal(peer.listeners.size, before + 1);
    peer.holdNextSend();
    socket.ws.send(JSON.stringify({ id: 1, method: "send", params: { channel: "lobby", text: "hold" } }));
    await peer.sendHeld;
    const unsubscribed = peer.nextUnsubscribe();
    await socket.close();
    await unsubscribed;
    assert.equal(peer.listeners.size, before);
    // The answer comes after the page left: it goes nowhere and breaks nothing.
    peer.releaseSend();
    peer.emit({ type: "tracker", state: "connected" });
  });

  test("gui - close() closes open pages and stops listening", async () => {
    const other = await startGuiServer({ peer, staticDir });
    const url = new URL(other.url);
    const socket = await TestSocket.open(`ws://127.0.0.1:${url.port}/ws?${url.searchParams}`);
    await socket.next((message) => "snapshot" in message);
    const closed = new Promise<number>((resolve) => socket.ws.once("close", (code) => resolve(code)));
    await other.close();
    assert.equal(await closed, 1001);
    await assert.rejects(get(Number(url.port), "/"));
  });
});
