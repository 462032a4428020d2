import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_BYTES } from "../../src/limits.js";
import { queueBatches, queueMessageBytes } from "../../src/queue/batches.js";

/** A bet event whose queue message takes exactly `bytes`. */
function betOf(id: number, bytes: number) {
  const event = { id: `bet-${id}`, app_id: 1, type: "new_bet", bet: { id, uname: "bob", wager: 1, profit: 1, note: "" } };
  event.bet.note = "x".repeat(bytes - queueMessageBytes(event));
  expect(queueMessageBytes(event)).toBe(bytes);
  return event;
}

const sizes = (batches: unknown[][]) => batches.map((batch) => batch.reduce<number>((sum, body) => sum + queueMessageBytes(body), 0));

describe("queueBatches: what ingest sends in one sendBatch", () => {
  it("splits 100 bets of 2.7 KB (one call over 256 KB) into calls within the limit, in order", () => {
    const bets = Array.from({ length: 100 }, (_, i) => betOf(i, 2_700));
    const result = queueBatches(bets);
    if (!("batches" in result)) throw new Error("refused");
    expect(result.batches.flat()).toEqual(bets);
    expect(result.batches.length).toBe(2);
    for (const bytes of sizes(result.batches)) expect(bytes).toBeLessThanOrEqual(QUEUE_BATCH_BYTES);
  });

  it("fills a call to exactly the byte limit, and starts another one byte past it", () => {
    const exact = queueBatches([betOf(1, 128_000), betOf(2, 127_000), betOf(3, QUEUE_BATCH_BYTES - 255_000)]);
    expect("batches" in exact && exact.batches.length).toBe(1);
    const over = queueBatches([betOf(1, 128_000), betOf(2, 127_000), betOf(3, QUEUE_BATCH_BYTES - 255_000 + 1)]);
    expect("batches" in over && over.batches.map((batch) => batch.length)).toEqual([2, 1]);
  });

  it("puts at most 100 messages in a call", () => {
    const small = Array.from({ length: 250 }, (_, i) => betOf(i, 500));
    const result = queueBatches(small);
    if (!("batches" in result)) throw new Error("refused");
    expect(result.batches.map((batch) => batch.length)).toEqual([QUEUE_BATCH_MESSAGES, QUEUE_BATCH_MESSAGES, 50]);
  });

  it("takes a message of exactly 128 KB, and refuses one byte more before anything is sent", () => {
    expect(queueBatches([betOf(1, QUEUE_MESSAGE_BYTES)])).toEqual({ batches: [[expect.anything()]] });
    expect(queueBatches([betOf(1, 500), betOf(2, QUEUE_MESSAGE_BYTES + 1)])).toEqual({ tooLarge: { index: 1, bytes: QUEUE_MESSAGE_BYTES + 1 } });
  });

  it("keeps every request the ingest body limit allows within the Queue's limits, whole and in order", () => {
    // Up to 100 events whose messages each fit the Queue, adding up to at most the 1,000,000-byte body.
    // Drawn freely, then scaled down to the body limit when they add up to more, so that requests near it are common.
    const request = fc.array(fc.integer({ min: 300, max: QUEUE_MESSAGE_BYTES }), { minLength: 1, maxLength: 100 }).map((sizes) => {
      const total = sizes.reduce((sum, bytes) => sum + bytes, 0);
      return total <= 1_000_000 ? sizes : sizes.map((bytes) => Math.max(300, Math.floor((bytes * 1_000_000) / total) - 300));
    });
    fc.assert(
      fc.property(request, (messageSizes) => {
        const bets = messageSizes.map((bytes, i) => betOf(i, bytes));
        const result = queueBatches(bets);
        if (!("batches" in result)) return false;
        expect(result.batches.flat()).toEqual(bets);
        for (const batch of result.batches) expect(batch.length).toBeLessThanOrEqual(QUEUE_BATCH_MESSAGES);
        for (const bytes of sizes(result.batches)) expect(bytes).toBeLessThanOrEqual(QUEUE_BATCH_BYTES);
        return true;
      }),
      { numRuns: 200 },
    );
  });
});
