import { wireError } from "../protocol/errors.js";
import { KeyedTokenBuckets } from "../util/rate-limit.js";

/**
 * What each user may send, as two token buckets refilled at the same rate: one token per request
 * (`MESSAGE` or `CACHE`, bucket `sendBurst`) and one per message stored (bucket `cacheBurst`). So the
 * sustained rate is `sendRatePerSecond` messages whatever the mix, live sends burst to `sendBurst`,
 * and an outbox replayed after an outage bursts to `cacheBurst`.
 */
export class SendAllowance {
  private readonly requests: KeyedTokenBuckets;
  private readonly messages: KeyedTokenBuckets;
  private readonly messageBurst: number;
  private refusedCount = 0;

  constructor(ratePerSecond: number, requestBurst: number, messageBurst: number) {
    this.messageBurst = Math.max(1, messageBurst);
    this.requests = new KeyedTokenBuckets(ratePerSecond, Math.max(1, requestBurst));
    this.messages = new KeyedTokenBuckets(ratePerSecond, this.messageBurst);
  }

  /**
   * Takes the tokens of a request carrying `count` messages and returns how many of them, from the
   * first, may be stored: all of them, or `cacheBurst` when there are more (the sender sends the rest
   * again). Without that many tokens: `RATE_LIMITED` with `retryAfterMs` until they are there, so a
   * retry after it is not refused again, and a sender waits rather than trickles.
   */
  take(user: string, count: number): number {
    const requestWait = this.requests.take(user);
    if (requestWait > 0) this.refuse(requestWait);
    const storable = Math.min(count, this.messageBurst);
    const messageWait = this.messages.take(user, storable);
    if (messageWait > 0) this.refuse(messageWait);
    return storable;
  }

  /** Users with a bucket right now, and sends refused since the start. */
  stats(): { buckets: number; refused: number } {
    return { buckets: this.requests.size, refused: this.refusedCount };
  }

  private refuse(retryAfterMs: number): never {
    this.refusedCount += 1;
    throw wireError("RATE_LIMITED", `sending too fast; retry in ${retryAfterMs} ms`, { retryAfterMs });
  }
}
