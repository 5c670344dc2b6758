/** Who a tracker connection is, as far as its time limits go. */
export type Standing = "anonymous" | "guest" | "user";

export interface ConnectionWatchOptions {
  /** From accept (or sign-out) to signing in, however busy the connection is; 0 = none. */
  authDeadlineMs: number;
  /** Not signed in, without a request other than `PING`; 0 = none. */
  unauthenticatedIdleMs: number;
  /** A guest without a request other than `PING`; 0 = none. */
  guestIdleMs: number;
}

export type WatchExpiry = "AUTH_TIMEOUT" | "IDLE_TIMEOUT";

/**
 * The clocks that close a tracker connection that costs nothing to open. Not signed in, it gets
 * `authDeadlineMs` in all (a drip of bytes or of cheap requests does not extend it) and
 * `unauthenticatedIdleMs` between requests; a guest gets `guestIdleMs` between requests. Heartbeat
 * `PING`s never count as activity, or every idle link would stay forever. A user has no clock.
 */
export class ConnectionWatch {
  private standing: Standing | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: ConnectionWatchOptions,
    private readonly expire: (code: WatchExpiry, message: string) => void,
  ) {
    this.update("anonymous");
  }

  /** A request other than `PING` arrived. */
  active(): void {
    this.idle?.refresh();
  }

  /** The connection signed in, or out, or as someone else. */
  update(standing: Standing): void {
    // A closed connection is signed out as it is forgotten: that starts no clock.
    if (this.stopped || standing === this.standing) return;
    this.standing = standing;
    clearTimeout(this.idle);
    this.idle = undefined;
    const idleMs =
      standing === "anonymous"
        ? this.options.unauthenticatedIdleMs
        : standing === "guest"
          ? this.options.guestIdleMs
          : 0;
    if (idleMs > 0) {
      const what = standing === "guest" ? "guest connection" : "connection that is not signed in";
      this.idle = setTimeout(
        () => this.expire("IDLE_TIMEOUT", `closing idle ${what}: no request but PING for ${idleMs} ms`),
        idleMs,
      );
    }
    if (standing !== "anonymous") {
      clearTimeout(this.deadline);
      this.deadline = undefined;
    } else if (this.deadline === undefined && this.options.authDeadlineMs > 0) {
      const deadlineMs = this.options.authDeadlineMs;
      this.deadline = setTimeout(
        () =>
          this.expire("AUTH_TIMEOUT", `not signed in within ${deadlineMs} ms of connecting (or signing out)`),
        deadlineMs,
      );
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
    this.idle = undefined;
    this.deadline = undefined;
  }
}
