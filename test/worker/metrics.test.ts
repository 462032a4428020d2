import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { KEPT_MS, MinuteCounts } from "../../src/metrics/minute-counts.js";
import type { AppRoom } from "../../src/ordering/app-room.js";
import { appRoom } from "./room-socket.js";

/** A clock the test moves, whose timers run only when it says. */
function testClock(start: number) {
  const timers = new Set<() => void>();
  return {
    time: start,
    now() {
      return this.time;
    },
    later: (_ms: number, task: () => void) => {
      timers.add(task);
      return () => void timers.delete(task);
    },
    fire: () => {
      const due = [...timers];
      timers.clear();
      for (const task of due) task();
    },
  };
}

describe("an app's counts by minute", () => {
  it("reach the object's storage once: after the flush, not before; a new instance (a restart) adds to them, never again", async () => {
    const scratch = env.ROOMS.get(env.ROOMS.idFromName("minute-counts-test"));
    await runInDurableObject(scratch, (_instance: AppRoom, state) => {
      const start = Date.parse("2026-12-01T10:00:30Z");
      const clock = testClock(start);
      const before = new MinuteCounts(state.storage, clock);
      before.count("chat_messages", 3);
      before.count("rate_limited");
      clock.time += 60_000;
      before.count("chat_messages");
      // Nothing in storage until the flush timer fires; then all of it, once.
      const stored = () => state.storage.sql.exec<{ total: number }>("SELECT coalesce(sum(value), 0) AS total FROM minute_counts").one().total;
      expect(stored()).toBe(0);
      clock.fire();
      expect(stored()).toBe(5);
      before.flush();
      expect(stored()).toBe(5);
      // Counted but not flushed when the object went away: lost, as the docs say.
      before.count("chat_messages", 100);

      const after = new MinuteCounts(state.storage, clock);
      after.count("chat_messages", 2);
      const series = after.series(start, clock.time);
      expect(series.map((minute) => [minute.minute, minute.chat_messages, minute.rate_limited])).toEqual([
        ["2026-12-01T10:00:00.000Z", 3, 1],
        ["2026-12-01T10:01:00.000Z", 3, 0],
      ]);
      expect(Object.keys(series[0]!)).toHaveLength(10);

      // Minutes older than what is kept go at the next flush.
      clock.time = start + KEPT_MS + 180_000;
      after.count("auth_failures");
      after.flush();
      expect(after.series(start, start + 60_000).every((minute) => minute.chat_messages === 0)).toBe(true);
    });
  });

  it("counts the Queue events a room received and delivered, across an eviction of the room, without counting twice", async () => {
    const room = appRoom(1);
    const event = (id: string) => ({ id, app_id: 1, type: "unconfirmed_balance_change" as const, auth_id: 3, balance: 1, diff: 1 });
    const from = Date.now() - 60_000;
    const totals = async () => {
      const series = await room.metrics(1, from, Date.now() + 60_000);
      return [series.reduce((sum, minute) => sum + minute.events_received, 0), series.reduce((sum, minute) => sum + minute.events_delivered, 0)];
    };
    const [received, delivered] = await totals();
    expect(await room.deliver([event("metrics-1"), event("metrics-2"), event("metrics-1")])).toBe(2);
    expect(await totals()).toEqual([received! + 3, delivered! + 2]);
    await evictDurableObject(room);
    expect(await totals()).toEqual([received! + 3, delivered! + 2]);
    expect(await room.deliver([event("metrics-2"), event("metrics-3")])).toBe(1);
    expect(await totals()).toEqual([received! + 5, delivered! + 3]);
  });
});
