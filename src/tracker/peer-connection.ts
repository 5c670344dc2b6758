import type { Connection } from "../protocol/connection.js";
import type { Role } from "../protocol/tracker-schemas.js";

/** Who a connection is signed in as (the last SIGNIN, GUEST or RESUME on it counts). */
export interface SignedInIdentity {
  username: string;
  role: Role;
}

/** One client connection to the tracker. */
export class PeerConnection {
  identity: SignedInIdentity | undefined;

  constructor(
    readonly connection: Connection,
    /** The address the connection came from, IPv4-mapped IPv6 addresses written as IPv4. */
    readonly remoteAddress: string,
  ) {}

  get signedIn(): boolean {
    return this.identity !== undefined;
  }
}
