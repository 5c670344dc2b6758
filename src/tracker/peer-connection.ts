import { randomBytes } from "node:crypto";
import type { Connection } from "../protocol/connection.js";
import type { Role } from "../protocol/tracker-schemas.js";

/** Who a connection is signed in as (the last SIGNIN, GUEST or RESUME on it counts). */
export interface SignedInIdentity {
  username: string;
  role: Role;
  /** The device id its tickets name (`dev`): the peer's choice for users, `g…` for guests. */
  device: string;
  /** The generation of the device's tickets this connection was signed in with. */
  gen: number;
  /** The device's public key, which its tickets certify. */
  key: string;
}

/** One client connection to the tracker. */
export class PeerConnection {
  /** Sent in the `HELLO` answer: proofs of possession on this connection sign it. */
  readonly challenge = randomBytes(32).toString("base64url");
  private signedInAs: SignedInIdentity | undefined;

  constructor(
    readonly connection: Connection,
    /** The address the connection came from, IPv4-mapped IPv6 addresses written as IPv4. */
    readonly remoteAddress: string,
    /** Told after every change of identity: the server's limits follow who the connection is. */
    private readonly onIdentityChange: (session: PeerConnection) => void = () => {},
  ) {}

  get identity(): SignedInIdentity | undefined {
    return this.signedInAs;
  }

  set identity(identity: SignedInIdentity | undefined) {
    if (identity === this.signedInAs) return;
    this.signedInAs = identity;
    this.onIdentityChange(this);
  }

  get signedIn(): boolean {
    return this.identity !== undefined;
  }
}
