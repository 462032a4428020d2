import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { COUNTERS, GAUGES, KEPT_MS, MinuteMetrics, type Gauge } from "../../src/metrics/minute-metrics.js";
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

describe("an object's metrics by minute", () => {
  it("reach the object's storage once: after the flush, not before; a new instance (a restart) adds to them, never again", async () => {
    const scratch = env.ROOMS.get(env.ROOMS.idFromName("minute-counts-test"));
    await runInDurableObject(scratch, (_instance: AppRoom, state) => {
      const start = Date.parse("2026-12-01T10:00:30Z");
      const clock = testClock(start);
      const before = new MinuteMetrics(state.storage, clock, () => ({}));
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

      const after = new MinuteMetrics(state.storage, clock, () => ({}));
      after.count("chat_messages", 2);
      const series = after.series(start, clock.time);
      expect(series.map((minute) => [minute.minute, minute.chat_messages, minute.rate_limited])).toEqual([
        ["2026-12-01T10:00:00.000Z", 3, 1],
        ["2026-12-01T10:01:00.000Z", 3, 0],
      ]);
      expect(Object.keys(series[0]!)).toHaveLength(1 + COUNTERS.length + GAUGES.length);

      // Minutes older than what is kept go at the next flush.
      clock.time = start + KEPT_MS + 180_000;
      after.count("auth_failures");
      after.flush();
      expect(after.series(start, start + 60_000).every((minute) => minute.chat_messages === 0)).toBe(true);
    });
  });

  it("store a gauge when it changes, carry it through minutes that stored none, and keep the latest past what is kept", async () => {
    const scratch = env.ROOMS.get(env.ROOMS.idFromName("minute-gauges-test"));
    await runInDurableObject(scratch, (_instance: AppRoom, state) => {
      const start = Date.parse("2026-12-01T10:00:30Z");
      const clock = testClock(start);
      let open: Partial<Record<Gauge, number>> = { connections_websocket: 2 };
      const metrics = new MinuteMetrics(state.storage, clock, () => open);
      const writes = () => state.storage.sql.exec<{ rows: number }>("SELECT count(*) AS rows FROM minute_gauges").one().rows;
      metrics.changed();
      clock.fire();
      expect(writes()).toBe(1);
      // Unchanged, nothing is written again, however often something happens.
      clock.time += 60_000;
      metrics.count("connects");
      clock.fire();
      expect(writes()).toBe(1);
      clock.time += 120_000;
      open = { connections_websocket: 5 };
      metrics.changed();
      clock.fire();
      const websocket = (from: number, to: number) => metrics.series(from, to).map((minute) => minute.connections_websocket);
      expect(websocket(start, clock.time + 60_000)).toEqual([2, 2, 2, 5, 5]);
      // A restarted object reads what it stored last, and writes only a change from it.
      const restarted = new MinuteMetrics(state.storage, clock, () => open);
      restarted.count("connects");
      restarted.flush();
      expect(writes()).toBe(2);
      // Long after, with nothing changed: the old minutes go, the gauge's latest row stays and carries on.
      clock.time += KEPT_MS + 600_000;
      restarted.count("connects");
      restarted.flush();
      expect(writes()).toBe(1);
      expect(websocket(clock.time - 120_000, clock.time)).toEqual([5, 5, 5]);
    });
  });

  it("counts the Queue events a room received and delivered, across an eviction of the room, without counting twice", async () => {
    const room = appRoom(1);
    const event = (id: string) => ({ id, app_id: 1, type: "unconfirmed_balance_change" as const, auth_id: 3, balance: 1, diff: 1 });
    const from = Date.now() - 60_000;
    const totals = async () => {
      const series = await room.metrics(1, from, Date.now() + 60_000, 1);
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
