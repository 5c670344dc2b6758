import { randomBytes } from "node:crypto";
import type { Connection } from "../protocol/connection.js";
import type { Role } from "../protocol/tracker-schemas.js";

/** Who a host connection is, as its verified ticket says. */
export interface HostIdentity {
  username: string;
  role: Role;
  /** The device and generation of the ticket, for revocations. */
  device: string;
  gen: number;
}

/** One connection to the host: its identity (from its first verified ticket) and the channels it joined. */
export class MemberConnection {
  readonly connection: Connection;
  /** Applies to every channel this connection joined. */
  invisible = false;
  readonly channels = new Set<string>();
  /** Sent with `HELLO`: every proof of possession on this connection signs it. */
  readonly challenge = randomBytes(32).toString("base64url");
  private connectedAs: HostIdentity | undefined;
  /** Told once the identity is set: the server's limits follow who the connection is. */
  private readonly onIdentified: (session: MemberConnection) => void;

  constructor(connection: Connection, onIdentified: (session: MemberConnection) => void = () => {}) {
    this.connection = connection;
    this.onIdentified = onIdentified;
  }

  get identity(): HostIdentity | undefined {
    return this.connectedAs;
  }

  set identity(identity: HostIdentity | undefined) {
    if (identity === this.connectedAs) return;
    this.connectedAs = identity;
    this.onIdentified(this);
  }
}
