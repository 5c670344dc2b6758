import { nameKey } from "../protocol/names.js";
import type { Address, Role } from "../protocol/tracker-schemas.js";
import type { PeerConnection, SignedInIdentity } from "./peer-connection.js";

interface OnlineUser {
  username: string;
  role: Role;
  invisible: boolean;
  sessions: Set<PeerConnection>;
}

/** Who keeps a hosted channel listed online: the connection that registered it with HOST (its liveness link). */
export interface ListingOwner {
  name: string;
  session: PeerConnection;
  address: Address;
  /** The fingerprint of the certificate the host presents there. */
  fingerprint: string;
  /** Visible online members, as last reported by the host with MEMBERS. */
  members: number;
}

/**
 * What exists only while the tracker runs: open connections, who is online through which of them,
 * and which connection keeps each hosted channel online.
 */
export class OnlineState {
  private readonly sessions = new Set<PeerConnection>();
  private readonly users = new Map<string, OnlineUser>();
  private readonly links = new Map<string, ListingOwner>();

  get connections(): number {
    return this.sessions.size;
  }

  add(session: PeerConnection): void {
    this.sessions.add(session);
  }

  /** Forgets a closed connection; returns the channel links it held (those channels are now offline). */
  remove(session: PeerConnection): ListingOwner[] {
    if (!this.sessions.delete(session)) return [];
    this.signOut(session);
    const dropped: ListingOwner[] = [];
    for (const [key, link] of this.links) {
      if (link.session === session) {
        this.links.delete(key);
        dropped.push(link);
      }
    }
    return dropped;
  }

  /**
   * Signs `session` in as `identity`, replacing whoever it was signed in as. False when the
   * connection has closed meanwhile (an answer that arrives after the close changes nothing).
   */
  signIn(session: PeerConnection, identity: SignedInIdentity, invisible: boolean): boolean {
    if (!this.sessions.has(session)) return false;
    this.signOut(session);
    session.identity = identity;
    const key = nameKey(identity.username);
    let user = this.users.get(key);
    if (user === undefined) {
      user = { username: identity.username, role: identity.role, invisible, sessions: new Set() };
      this.users.set(key, user);
    }
    user.sessions.add(session);
    return true;
  }

  /** True when a connection other than `except` is signed in as `username` (any case). */
  isOnlineElsewhere(username: string, except?: PeerConnection): boolean {
    const user = this.users.get(nameKey(username));
    if (user === undefined) return false;
    for (const session of user.sessions) if (session !== except) return true;
    return false;
  }

  setInvisible(username: string, invisible: boolean): void {
    const user = this.users.get(nameKey(username));
    if (user !== undefined) user.invisible = invisible;
  }

  /** Online users who are not invisible, ordered by name. */
  visibleUsers(): { username: string; role: Role }[] {
    return [...this.users.values()]
      .filter((user) => !user.invisible)
      .map((user) => ({ username: user.username, role: user.role }))
      .sort((a, b) => nameKey(a.username).localeCompare(nameKey(b.username)));
  }

  guestsOnline(): number {
    let count = 0;
    for (const user of this.users.values()) if (user.role === "guest") count += 1;
    return count;
  }

  /** Every connection that is signed in: the audience of tracker events. */
  *signedInSessions(): Iterable<PeerConnection> {
    for (const session of this.sessions) if (session.identity !== undefined) yield session;
  }

  /** Every open connection, signed in or not. */
  allSessions(): PeerConnection[] {
    return [...this.sessions];
  }

  link(channel: string): ListingOwner | undefined {
    return this.links.get(nameKey(channel));
  }

  /**
   * Makes `session` the channel's liveness link at `address`, whose host presents `fingerprint`. Members carry over when the same
   * connection registers again, and start at 0 on a new link.
   */
  setLink(channel: string, session: PeerConnection, address: Address, fingerprint: string): ListingOwner {
    const key = nameKey(channel);
    const previous = this.links.get(key);
    const link: ListingOwner = {
      name: channel,
      session,
      address,
      fingerprint,
      members: previous !== undefined && previous.session === session ? previous.members : 0,
    };
    this.links.set(key, link);
    return link;
  }

  removeLink(channel: string): ListingOwner | undefined {
    const key = nameKey(channel);
    const link = this.links.get(key);
    this.links.delete(key);
    return link;
  }

  get channelsOnline(): number {
    return this.links.size;
  }

  /** The connection is no longer signed in as anyone (SIGNOUT, or before it signs in as someone else). */
  signOut(session: PeerConnection): void {
    if (session.identity === undefined) return;
    const key = nameKey(session.identity.username);
    const user = this.users.get(key);
    if (user !== undefined) {
      user.sessions.delete(session);
      if (user.sessions.size === 0) this.users.delete(key);
    }
    session.identity = undefined;
  }
}
