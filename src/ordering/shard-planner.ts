/** The share of the target at which another shard is added, so that no object reaches its target first. */
const GROW_AT = 0.75;
/** How long the load must stay lower before the count goes down: a dip between two peaks changes nothing. */
export const SHRINK_AFTER_MS = 10 * 60_000;

/**
 * An app's shard count from its connections: enough shards that each holds three quarters of
 * `SHARD_TARGET_CONNECTIONS` at most, within the app's bounds. It grows at once; it falls only after the load
 * has stayed lower for {@link SHRINK_AFTER_MS}. Growing moves no connection (they stay where they are and
 * new ones spread over the new count), and neither does falling (new ones stop going to the extra shards,
 * which drain and go idle).
 */
export class ShardPlanner {
  private lowSince: number | null = null;

  constructor(private readonly target: number) {}

  next(bounds: { min: number; max: number }, current: number, connections: number, now: number): number {
    const wanted = Math.min(bounds.max, Math.max(bounds.min, Math.ceil(connections / (this.target * GROW_AT))));
    if (wanted >= current) {
      this.lowSince = null;
      return wanted;
    }
    this.lowSince ??= now;
    if (now - this.lowSince < SHRINK_AFTER_MS) return current;
    this.lowSince = null;
    return wanted;
  }
}
