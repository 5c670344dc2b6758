import { nameKey } from "../protocol/names.js";
import type { Address, Role } from "../protocol/tracker-schemas.js";
import type { PeerConnection, SignedInIdentity } from "./peer-connection.js";
import type { Reach } from "./reachability.js";

interface OnlineUser {
  username: string;
  role: Role;
  invisible: boolean;
  sessions: Set<PeerConnection>;
}

/** Where a channel is listed online: its host's address and key, and its members as last reported. */
export interface ListedHost {
  name: string;
  /** The user who registered it over its liveness link. */
  owner: string;
  address: Address;
  /** The fingerprint of the certificate the host presents there. */
  fingerprint: string;
  /** Visible online members, as last reported by the host with MEMBERS. */
  members: number;
  /** How members reach it, as the tracker measured when it was hosted. */
  reach: Reach;
}

/** Who keeps a hosted channel listed online: the connection that registered it with HOST (its liveness link). */
export interface ListingOwner extends ListedHost {
  session: PeerConnection;
}

/**
 * What exists only while the tracker runs: open connections, who is online through which of them,
 * and which connection keeps each hosted channel online.
 */
export class OnlineState {
  private readonly sessions = new Set<PeerConnection>();
  private readonly users = new Map<string, OnlineUser>();
  private readonly links = new Map<string, ListingOwner>();
  /**
   * Channels of invisible owners whose liveness link closed, listed as they were: were they listed
   * offline, `LIST` would tell when an invisible owner's peer stops and starts.
   */
  private readonly retained = new Map<string, ListedHost>();

  get connections(): number {
    return this.sessions.size;
  }

  add(session: PeerConnection): void {
    this.sessions.add(session);
  }

  /**
   * Forgets a closed connection; returns the channel links it held whose channels are now offline.
   * Those of an invisible owner stay listed as they were (see `retained`).
   */
  remove(session: PeerConnection): ListingOwner[] {
    if (!this.sessions.delete(session)) return [];
    const dropped: ListingOwner[] = [];
    for (const [key, link] of this.links) {
      if (link.session !== session) continue;
      this.links.delete(key);
      if (this.users.get(nameKey(link.owner))?.invisible === true) {
        const { name, owner, address, fingerprint, members, reach } = link;
        this.retained.set(key, { name, owner, address, fingerprint, members, reach });
      } else {
        dropped.push(link);
      }
    }
    this.signOut(session);
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

  /** True when a connection other than `except` is signed in as `username` with another key than `key`. */
  isHeldByAnotherKey(username: string, key: string, except: PeerConnection): boolean {
    const user = this.users.get(nameKey(username));
    if (user === undefined) return false;
    for (const session of user.sessions) {
      if (session !== except && session.identity?.key !== key) return true;
    }
    return false;
  }

  /**
   * Records the user's invisibility. Going visible ends what hid their peer's absence: returns the
   * names of their channels that were listed only for that and are now offline.
   */
  setInvisible(username: string, invisible: boolean): string[] {
    const key = nameKey(username);
    const user = this.users.get(key);
    if (user !== undefined) user.invisible = invisible;
    if (invisible) return [];
    const offline: string[] = [];
    for (const [channelKey, listed] of this.retained) {
      if (nameKey(listed.owner) !== key) continue;
      this.retained.delete(channelKey);
      offline.push(listed.name);
    }
    return offline;
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

  /** The channel's live liveness link. */
  link(channel: string): ListingOwner | undefined {
    return this.links.get(nameKey(channel));
  }

  /** Where the channel is listed online: its live link, else what an invisible owner's closed one listed. */
  listed(channel: string): ListedHost | undefined {
    const key = nameKey(channel);
    return this.links.get(key) ?? this.retained.get(key);
  }

  /**
   * Makes `session`, signed in as `owner`, the channel's liveness link at `address`, whose host
   * presents `fingerprint`. Members carry over when the same connection registers again or an
   * invisible owner's channel comes back, and start at 0 on another new link.
   */
  setLink(
    channel: string,
    owner: string,
    session: PeerConnection,
    address: Address,
    fingerprint: string,
    reach: Reach,
  ): ListingOwner {
    const key = nameKey(channel);
    const previous = this.links.get(key);
    const retained = this.retained.get(key);
    this.retained.delete(key);
    const link: ListingOwner = {
      name: channel,
      owner,
      session,
      address,
      fingerprint,
      reach,
      members:
        previous !== undefined && previous.session === session ? previous.members : (retained?.members ?? 0),
    };
    this.links.set(key, link);
    return link;
  }

  /** The channel is no longer listed online (it was unhosted). */
  removeLink(channel: string): void {
    const key = nameKey(channel);
    this.links.delete(key);
    this.retained.delete(key);
  }

  /** Channels listed online, invisible owners' retained ones included (so the count tells no more than `LIST`). */
  get channelsOnline(): number {
    return this.links.size + this.retained.size;
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
