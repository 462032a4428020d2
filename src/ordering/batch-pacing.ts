/**
 * The calls a room takes from its connection shards per second, at most, whatever their number and load: a
 * tenth of the soft limit of about 1,000 requests a second Cloudflare gives one Durable Object, leaving the
 * rest for the room's own connections, the Queue's deliveries and the operator.
 */
export const ROOM_BATCHES_PER_SECOND = 100;

/** The longest a shard is asked to wait between two batches: what a chat message may wait at the most load. */
export const MAX_BATCH_SPACING_MS = 250;

/** How recently a shard must have sent a batch to count as one of those sharing the room's rate. */
const ACTIVE_MS = 1_000;

/**
 * How far apart each connection shard sends its batches, so that all of them together stay within
 * {@link ROOM_BATCHES_PER_SECOND}: the room's rate is shared among the shards that sent one in the last second.
 * A quiet shard is not slowed (its calls are further apart than the spacing anyway); under load, each batch
 * carries what piled up meanwhile.
 */
export class BatchPacing {
  private readonly lastBatch = new Map<number, number>();

  /** Shard `shard` sent a batch at `now`; returns the spacing it is to keep from now on. */
  batchFrom(shard: number, now: number): number {
    this.lastBatch.set(shard, now);
    let active = 0;
    for (const [other, at] of this.lastBatch) {
      if (now - at <= ACTIVE_MS) active += 1;
      else this.lastBatch.delete(other);
    }
    return Math.min(MAX_BATCH_SPACING_MS, Math.ceil((active * 1000) / ROOM_BATCHES_PER_SECOND));
  }
}
