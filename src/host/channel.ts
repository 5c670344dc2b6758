import type { MemberInfo } from "../protocol/host-schemas.js";
import { nameKey } from "../protocol/names.js";
import type { Role, View } from "../protocol/tracker-schemas.js";
import type { HostIdentity, MemberConnection } from "./member-connection.js";

export type PresenceStatus = "online" | "offline";

export interface PresenceChange {
  username: string;
  role: Role;
  status: PresenceStatus;
}

interface PresentUser {
  username: string;
  role: Role;
  /** Joined connections of this user that are visible. */
  visibleConnections: number;
}

/**
 * One hosted channel's in-memory state: settings, authorized users, member connections and who is
 * visibly present. A user is present while at least one of their joined connections is visible.
 */
export class ChannelState {
  readonly name: string;
  readonly owner: string;
  view: View;
  moderated: boolean;
  /** Authorized users by name key, with the spelling the owner used. */
  readonly authorized: Map<string, string>;
  readonly members = new Set<MemberConnection>();
  /** Set once the channel stops being hosted; sends still queued for it are refused. */
  closed = false;
  private readonly present = new Map<string, PresentUser>();

  constructor(
    name: string,
    owner: string,
    settings: { view: View; moderated: boolean; authorized: string[] },
  ) {
    this.name = name;
    this.owner = owner;
    this.view = settings.view;
    this.moderated = settings.moderated;
    this.authorized = new Map(settings.authorized.map((username) => [nameKey(username), username]));
  }

  isOwner(username: string): boolean {
    return nameKey(username) === nameKey(this.owner);
  }

  isAuthorized(username: string): boolean {
    return this.authorized.has(nameKey(username));
  }

  /** May join: anyone in a public channel; the owner and authorized users in a private one. */
  mayView(identity: HostIdentity): boolean {
    return this.view === "public" || this.isOwner(identity.username) || this.isAuthorized(identity.username);
  }

  /** May send: users (never guests); in a moderated channel only the owner and authorized users. */
  maySend(identity: HostIdentity): boolean {
    if (identity.role === "guest") return false;
    return !this.moderated || this.isOwner(identity.username) || this.isAuthorized(identity.username);
  }

  authorizedNames(): string[] {
    return [...this.authorized.values()].sort((a, b) => nameKey(a).localeCompare(nameKey(b)));
  }

  /** Adds a member connection; returns the presence change it causes, if any. */
  add(session: MemberConnection): PresenceChange | undefined {
    if (this.members.has(session)) return undefined;
    this.members.add(session);
    return session.invisible ? undefined : this.countVisible(session, 1);
  }

  /** Removes a member connection; returns the presence change it causes, if any. */
  remove(session: MemberConnection): PresenceChange | undefined {
    if (!this.members.delete(session)) return undefined;
    return session.invisible ? undefined : this.countVisible(session, -1);
  }

  /** Call after `session.invisible` changed for a member; returns the presence change it causes. */
  visibilityChanged(session: MemberConnection): PresenceChange | undefined {
    if (!this.members.has(session)) return undefined;
    return this.countVisible(session, session.invisible ? -1 : 1);
  }

  /** Distinct users visibly present, for member lists and the tracker's `MEMBERS`. */
  visibleMembers(): MemberInfo[] {
    return [...this.present.values()]
      .map((user) => ({ username: user.username, role: user.role }))
      .sort(byName);
  }

  get visibleCount(): number {
    return this.present.size;
  }

  /** Every distinct member user, invisible ones flagged (for the owner only). */
  allMembers(): MemberInfo[] {
    const users = new Map<string, MemberInfo>();
    for (const session of this.members) {
      const identity = session.identity;
      if (identity === undefined) continue;
      const key = nameKey(identity.username);
      const invisible = !this.present.has(key);
      users.set(key, { username: identity.username, role: identity.role, invisible });
    }
    return [...users.values()].sort(byName);
  }

  /** Member connections of one user. */
  sessionsOf(username: string): MemberConnection[] {
    const key = nameKey(username);
    return [...this.members].filter(
      (session) => session.identity !== undefined && nameKey(session.identity.username) === key,
    );
  }

  private countVisible(session: MemberConnection, delta: 1 | -1): PresenceChange | undefined {
    const identity = session.identity;
    if (identity === undefined) return undefined;
    const key = nameKey(identity.username);
    const user = this.present.get(key);
    if (delta === 1) {
      if (user !== undefined) {
        user.visibleConnections += 1;
        return undefined;
      }
      this.present.set(key, { username: identity.username, role: identity.role, visibleConnections: 1 });
      return { username: identity.username, role: identity.role, status: "online" };
    }
    if (user === undefined) return undefined;
    user.visibleConnections -= 1;
    if (user.visibleConnections > 0) return undefined;
    this.present.delete(key);
    return { username: user.username, role: user.role, status: "offline" };
  }
}

function byName(a: MemberInfo, b: MemberInfo): number {
  return nameKey(a.username).localeCompare(nameKey(b.username));
}
