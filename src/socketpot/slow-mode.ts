/** The longest slow mode interval: one message an hour (the schema's CHECK holds storage to it as well). */
export const MAX_SLOW_MODE_MS = 3_600_000;
/** The most users' last messages remembered; past it the oldest go (their next message is not held back). */
const REMEMBERED = 100_000;

/**
 * Slow mode's memory: when each user last sent in each slowed channel, so that a MEMBER sends at most one
 * message per interval there. Bounded: the oldest entries go first.
 */
export class SlowMode {
  private readonly lastSent = new Map<string, number>();

  /**
   * How long user `authId` must still wait before sending in `channel` (slowed to one message per
   * `intervalMs`); 0 when it may send now, and then this message counts as its last.
   */
  take(authId: number, channel: string, intervalMs: number, now: number): number {
    const key = `${authId}:${channel}`;
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < intervalMs) return intervalMs - (now - last);
    this.lastSent.delete(key);
    this.lastSent.set(key, now);
    if (this.lastSent.size > REMEMBERED) this.lastSent.delete(this.lastSent.keys().next().value!);
    return 0;
  }
}
