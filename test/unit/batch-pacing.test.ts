import { describe, expect, it } from "vitest";
import { BatchPacing, MAX_BATCH_SPACING_MS, ROOM_BATCHES_PER_SECOND } from "../../src/ordering/batch-pacing.js";

describe("the pace of shards' batches", () => {
  it("shares the room's rate among the shards that sent a batch in the last second, up to a longest spacing", () => {
    const pacing = new BatchPacing();
    const now = 1_000_000;
    expect(pacing.batchFrom(1, now)).toBe(1000 / ROOM_BATCHES_PER_SECOND);
    for (let shard = 2; shard <= 4; shard++) pacing.batchFrom(shard, now);
    // Four busy shards each get a quarter of the rate: together they stay within it.
    const spacing = pacing.batchFrom(1, now + 10);
    expect(spacing).toBe((4 * 1000) / ROOM_BATCHES_PER_SECOND);
    expect((4 * 1000) / spacing).toBeLessThanOrEqual(ROOM_BATCHES_PER_SECOND);
    // A second later the others have gone quiet.
    expect(pacing.batchFrom(1, now + 1_500)).toBe(1000 / ROOM_BATCHES_PER_SECOND);
    for (let shard = 1; shard <= 64; shard++) pacing.batchFrom(shard, now + 2_000);
    expect(pacing.batchFrom(64, now + 2_000)).toBe(MAX_BATCH_SPACING_MS);
  });
});
