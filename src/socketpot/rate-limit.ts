/** A token bucket per key: `burst` tokens at most, refilled continuously at `perSecond`. */
export class RateLimiter<Key> {
  private readonly buckets = new Map<Key, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}

  /** Takes one token for `key` if one is left; false means the caller is over the limit. */
  take(key: Key, now: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    const refilled = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    const allowed = refilled >= 1;
    bucket.tokens = allowed ? refilled - 1 : refilled;
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    this.forgetFullBuckets(now);
    return allowed;
  }

  /** Buckets that have refilled completely carry no information; dropping them bounds memory to active users. */
  private forgetFullBuckets(now: number): void {
    if (this.buckets.size < 1024) return;
    const refillMs = (this.burst / this.perSecond) * 1000;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt >= refillMs) this.buckets.delete(key);
  }
}
