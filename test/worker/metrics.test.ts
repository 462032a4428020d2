import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_EXPORTED_MINUTES, MetricsExporter, type MetricsSink } from "../../src/metrics/export.js";
import { D1_BOUND_PARAMETERS } from "../../src/limits.js";
import { COUNTERS, GAUGES, KEPT_MS, MinuteMetrics, type Counter, type Gauge, type MetricsMinute } from "../../src/metrics/minute-metrics.js";
import { D1Metrics } from "../../src/storage/d1-metrics.js";
import { meteredD1 } from "./metered-d1.js";
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

  it("are exported once the period in which something happened is over, once, and again only after something else happens", async () => {
    const scratch = env.ROOMS.get(env.ROOMS.idFromName("metrics-export-test"));
    await runInDurableObject(scratch, async (_instance: AppRoom, state) => {
      const start = Date.parse("2026-12-01T10:00:30Z");
      const clock = testClock(start);
      const exports: Array<{ values: Record<string, number>; at: number }> = [];
      const points: MetricsMinute[] = [];
      let failing = false;
      const sink: MetricsSink = {
        current: async (_appId, _source, values, at) => {
          if (failing) throw new Error("D1 is unreachable");
          exports.push({ values, at });
        },
        minutes: (_appId, _source, minutes) => void points.push(...minutes),
      };
      let exporter: MetricsExporter;
      const metrics = new MinuteMetrics(state.storage, clock, () => ({ connections_websocket: 1 }), () => exporter.stored());
      exporter = new MetricsExporter(state.storage, metrics, { appId: 7, name: "app:7" }, sink, clock, 60_000);
      metrics.count("connects", 2);
      clock.fire();
      // Due 2 s after the end of the minute: not before.
      expect(exporter.due()).toBe(Date.parse("2026-12-01T10:01:02Z"));
      await exporter.run();
      expect(exports).toHaveLength(0);
      clock.time = exporter.due()!;
      await exporter.run();
      expect(exports).toEqual([{ values: expect.objectContaining({ connects: 2, connections_websocket: 1, chat_messages: 0 }), at: clock.time }]);
      expect(points.map((point) => [point.minute, point.connects])).toEqual([["2026-12-01T10:00:00.000Z", 2]]);
      // Nothing new: nothing due, nothing written.
      expect(exporter.due()).toBeNull();
      await exporter.run();
      expect(exports).toHaveLength(1);
      // Totals only grow, over minutes and over a failed export, which is tried again a period later.
      metrics.count("connects", 3);
      clock.fire();
      // An object that goes away with an export due leaves it due for its next activation.
      expect(new MetricsExporter(state.storage, metrics, { appId: 7, name: "app:7" }, sink, clock, 60_000).due()).toBe(exporter.due());
      clock.time = exporter.due()!;
      failing = true;
      await exporter.run();
      expect(exporter.due()).toBe(clock.time + 60_000);
      failing = false;
      clock.time = exporter.due()!;
      await exporter.run();
      expect(exports.at(-1)!.values.connects).toBe(5);
      // A restarted object neither repeats nor skips a minute, and writes at most the last hour's.
      const restarted = new MetricsExporter(state.storage, metrics, { appId: 7, name: "app:7" }, sink, clock, 60_000);
      clock.time += 3 * 3_600_000;
      metrics.count("connects");
      restarted.stored();
      clock.time = restarted.due()!;
      points.length = 0;
      await restarted.run();
      expect(points.length).toBeLessThanOrEqual(MAX_EXPORTED_MINUTES);
      expect(points.at(-1)).toMatchObject({ connects: 1 });
      expect(new Set(points.map((point) => point.minute)).size).toBe(points.length);
    });
  });

  it("are written for scrapes in one D1 statement per object, within D1's bound parameters, replacing what it wrote before", async () => {
    const { db, bound } = meteredD1(env.DB);
    const values = Object.fromEntries([...COUNTERS, ...GAUGES].map((name, index) => [name, index])) as Record<Counter | Gauge, number>;
    await new D1Metrics(db).saveCurrent(9, "app:9:shard:3", values, 1_000);
    await new D1Metrics(db).saveCurrent(9, "app:9:shard:3", { ...values, connects: 50 }, 2_000);
    expect(bound).toEqual([3 + 2 * (COUNTERS.length + GAUGES.length), 3 + 2 * (COUNTERS.length + GAUGES.length)]);
    expect(bound[0]).toBeLessThanOrEqual(D1_BOUND_PARAMETERS);
    const stored = await env.DB.prepare("SELECT count(*) AS rows, sum(name = 'connects' AND value = 50) AS replaced FROM metric_values WHERE app_id = 9").first<{ rows: number; replaced: number }>();
    expect(stored).toEqual({ rows: COUNTERS.length + GAUGES.length, replaced: 1 });
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
