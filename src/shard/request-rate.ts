/** Seconds of history kept: the stats endpoint reports the last minute. */
const WINDOW_SECONDS = 60;

/**
 * How many requests an object took per second over the last minute, and in its busiest second, against the
 * soft limit of about 1,000 a second that Cloudflare gives one Durable Object. One counter per second of the
 * window, so counting costs the same however busy the object is.
 */
export class RequestRate {
  private readonly counts = new Array<number>(WINDOW_SECONDS).fill(0);
  /** The second (epoch s) the newest counter is for. */
  private second = 0;

  constructor(private readonly now: () => number = Date.now) {}

  count(): void {
    this.advance();
    this.counts[this.second % WINDOW_SECONDS]! += 1;
  }

  /** The mean over the last minute, and the busiest second in it. */
  lastMinute(): { perSecond: number; peak: number } {
    this.advance();
    let total = 0;
    let peak = 0;
    for (const count of this.counts) {
      total += count;
      peak = Math.max(peak, count);
    }
    return { perSecond: Math.round((total / WINDOW_SECONDS) * 10) / 10, peak };
  }

  /** Clears the counters of the seconds that passed since the last count. */
  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    if (second === this.second) return;
    const passed = Math.min(second - this.second, WINDOW_SECONDS);
    for (let step = 1; step <= passed; step++) this.counts[(this.second + step) % WINDOW_SECONDS] = 0;
    this.second = second;
  }
}
