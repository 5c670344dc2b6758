import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Identity } from "../api/index.js";
import { ClientStore } from "../client/client-store.js";
import type { TrackerCredentials } from "../client/tracker-session.js";
import { HOST_DB_FILE } from "../host/history-store.js";
import { ConnectionError, HychatError, wireError } from "../protocol/errors.js";
import { nameKey } from "../protocol/names.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../transport/reconnecting-client.js";
import type { JoinedChannels } from "./channels.js";
import type { PeerContext, UserState } from "./context.js";
import type { Directory } from "./directory.js";
import type { Hosting } from "./hosting.js";
import { acquireInstanceLock, type InstanceLock } from "./instance-lock.js";
import type { MessageLifecycle } from "./message-lifecycle.js";
import {
  CLIENT_DB_FILE,
  deleteSession,
  ensureUserDir,
  loadLastUser,
  loadSession,
  offlineCredentials,
  saveLastUser,
  saveSession,
  userDir,
} from "./session-file.js";

/** The parts of the facade a sign-in opens and a sign-out closes. */
export interface SessionParts {
  directory: Directory;
  channels: JoinedChannels;
  hosting: Hosting;
  lifecycle: MessageLifecycle;
}

/**
 * Who is signed in: signing up, in, as a guest, resuming the saved session (also offline) and
 * out; the user's state (instance lock, client store, saved ticket) opened and closed with it.
 */
export class UserSession {
  private state: UserState | undefined;

  constructor(
    private readonly context: PeerContext,
    private readonly parts: SessionParts,
  ) {}

  get current(): UserState | undefined {
    return this.state;
  }

  get identity(): Identity | null {
    const credentials = this.context.tracker.credentials;
    if (this.state === undefined || credentials === undefined) return null;
    return { username: credentials.username, role: credentials.role, invisible: credentials.invisible };
  }

  async signUp(username: string, password: string): Promise<Identity> {
    return this.lockedSignIn(username, () => this.context.tracker.signUp(username, password));
  }

  async signIn(username: string, password: string): Promise<Identity> {
    return this.lockedSignIn(username, () => this.context.tracker.signIn(username, password));
  }

  /**
   * Takes the user's instance lock before a password sign-in: that sign-in revokes this device's
   * earlier tickets, so it must not happen while another peer runs as that user on this data dir.
   */
  private async lockedSignIn(username: string, signIn: () => Promise<TrackerCredentials>): Promise<Identity> {
    const current = this.state;
    const again = current !== undefined && nameKey(current.username) === nameKey(username);
    // The user signed in here already holds the lock; `begin` takes it anew.
    const lock = again
      ? undefined
      : acquireInstanceLock(ensureUserDir(this.context.options.dataDir, username), username);
    let credentials: TrackerCredentials;
    try {
      credentials = await signIn();
    } catch (error) {
      lock?.release();
      throw error;
    }
    return this.begin(credentials, lock);
  }

  async guest(name?: string): Promise<Identity> {
    return this.begin(await this.context.tracker.guest(name));
  }

  /**
   * Signs in with the ticket saved for `username` (default: the last user); null when none is saved
   * or it expired. While the tracker is out of reach an unexpired ticket starts the user offline:
   * hosts check tickets themselves, and the tracker session resumes with it once the tracker is back.
   */
  async resume(username?: string): Promise<Identity | null> {
    const { options, tracker } = this.context;
    const name = username ?? loadLastUser(options.dataDir);
    if (name === null) return null;
    const dir = userDir(options.dataDir, name);
    const saved = loadSession(dir);
    if (saved === null) return null;
    let credentials: TrackerCredentials;
    try {
      await tracker.whenReady(Math.max(0, this.offlineAfterMs - tracker.unreachableForMs));
      credentials = await tracker.resume(saved);
    } catch (error) {
      if (error instanceof HychatError && error.code === "BAD_TICKET") {
        deleteSession(dir);
        return null;
      }
      if (
        error instanceof ConnectionError &&
        (error.code === "TIMEOUT" || error.code === "CONNECTION_CLOSED")
      ) {
        return this.beginOffline(saved);
      }
      throw error;
    }
    return this.begin(credentials);
  }

  /** Revokes this device's tickets at the tracker (when it answers in time), then leaves everything. */
  async signOut(): Promise<void> {
    const revoked = await this.context.tracker.revoke(Math.min(this.offlineAfterMs, 3_000));
    if (!revoked && this.state !== undefined) {
      this.context.emit({
        type: "notice",
        level: "warn",
        code: "TIMEOUT",
        text: `the tracker did not answer: the ticket of this session was not revoked and stays valid until ${this.context.tracker.credentials?.expiresAt ?? "it expires"}`,
      });
    }
    await this.end(true);
    this.context.tracker.forget();
    this.context.emit({ type: "identity", identity: null });
  }

  async setInvisible(invisible: boolean): Promise<void> {
    const user = this.context.requireUser();
    if (user.role === "guest") throw wireError("GUESTS_CANNOT_HIDE", "guests cannot go invisible");
    await this.context.tracker.setInvisible(invisible);
    const credentials = this.context.tracker.credentials;
    if (credentials !== undefined) saveSession(user.dir, credentials);
    // INVISIBLE applies to every channel of one host connection: send it once per host reached.
    await Promise.all(
      this.parts.channels.onePerHost().map((link) =>
        link.request("INVISIBLE", { invisible }).catch((error: unknown) => {
          this.context.logger.debug({ channel: link.name, err: error }, "INVISIBLE on host failed");
        }),
      ),
    );
    this.context.emit({ type: "identity", identity: this.identity });
  }

  /** Saves a renewed ticket, so a restart resumes with it rather than with one that may have expired. */
  ticketRenewed(credentials: TrackerCredentials): void {
    const user = this.state;
    if (user === undefined || nameKey(user.username) !== nameKey(credentials.username)) return;
    try {
      saveSession(user.dir, credentials);
    } catch (error) {
      this.context.logger.warn({ err: error }, "could not save the renewed ticket");
    }
  }

  ticketRejected(error: HychatError): void {
    const user = this.state;
    this.context.emit({
      type: "notice",
      level: "error",
      code: error.code,
      text: `signed out: ${error.message}`,
    });
    if (user === undefined) return;
    deleteSession(user.dir);
    this.end(false)
      .catch((closeError: unknown) =>
        this.context.logger.error({ err: closeError }, "closing the user state failed"),
      )
      .finally(() => this.context.emit({ type: "identity", identity: null }));
  }

  /** Closes the user's state: links (with DISCONNECT when signing out), own host, store. */
  async end(signingOut: boolean): Promise<void> {
    const user = this.state;
    if (user === undefined) return;
    this.state = undefined;
    this.parts.lifecycle.reset();
    await this.parts.channels.closeAll(user, signingOut);
    await this.parts.hosting.close(user);
    user.store.close();
    if (signingOut) deleteSession(user.dir);
    user.lock.release();
  }

  private get offlineAfterMs(): number {
    const { options } = this.context;
    return options.offlineAfterMs ?? options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** Starts the user from the saved session while the tracker is out of reach; null when its ticket expired. */
  private async beginOffline(saved: TrackerCredentials): Promise<Identity | null> {
    const credentials = offlineCredentials(saved);
    if (credentials === null) return null;
    this.context.tracker.adopt(credentials);
    const identity = await this.begin(credentials);
    const { host, port } = this.context.options.tracker;
    this.context.emit({
      type: "notice",
      level: "warn",
      code: "TIMEOUT",
      text: `tracker ${host}:${port} is unreachable: working offline as ${identity.username} with the saved session until it is back`,
    });
    return identity;
  }

  /** Opens the user's state after the tracker accepted them: stores, own channels, joined channels, the outbox. */
  private async begin(credentials: TrackerCredentials, heldLock?: InstanceLock): Promise<Identity> {
    const { options, tracker, logger } = this.context;
    await this.end(false);
    const dir = ensureUserDir(options.dataDir, credentials.username);
    let lock: InstanceLock;
    let store: ClientStore;
    try {
      lock = heldLock ?? acquireInstanceLock(dir, credentials.username);
    } catch (error) {
      // Signed in on the tracker but unable to use the local state: sign out there again.
      tracker.forget();
      throw error;
    }
    try {
      store = ClientStore.open(join(dir, CLIENT_DB_FILE));
    } catch (error) {
      lock.release();
      tracker.forget();
      throw error;
    }
    saveSession(dir, credentials);
    saveLastUser(options.dataDir, credentials.username);
    const user: UserState = {
      username: credentials.username,
      role: credentials.role,
      dir,
      lock,
      store,
      links: new Map(),
      joining: new Set(),
      linkContext: this.parts.channels.linkContext(store),
    };
    this.state = user;
    const identity = this.identity as Identity;
    this.context.emit({ type: "identity", identity });
    // Offline, the directory comes when the tracker is back (see Directory.trackerState).
    if (tracker.connected) await this.parts.directory.refreshQuietly();
    if (user.role === "user" && existsSync(join(dir, HOST_DB_FILE))) {
      // Channels hosted before a restart come back online under the same names.
      await this.parts.hosting.restart(user).catch((error: unknown) => {
        logger.error({ err: error }, "could not restart hosted channels");
        this.context.emit({
          type: "notice",
          level: "error",
          text: `could not restart hosted channels: ${String(error)}`,
        });
      });
    }
    if (this.state !== user) return identity;
    this.parts.channels.openStored(user);
    this.parts.lifecycle.announceStored(user);
    return identity;
  }
}
