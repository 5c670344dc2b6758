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
  identity: HostIdentity | undefined;
  /** Applies to every channel this connection joined. */
  invisible = false;
  readonly channels = new Set<string>();
  /** Sent with `HELLO`: every proof of possession on this connection signs it. */
  readonly challenge = randomBytes(32).toString("base64url");

  constructor(connection: Connection) {
    this.connection = connection;
  }
}
