import type { Clock } from "../deadline.js";

/**
 * What an app's objects count, per minute. Its room: sessions its auths started and auths that failed (a
 * malformed or refused auth, or a token that grants no user), chat messages taken and refused (rate limits and
 * slow mode apart), sessions recovered or not, and Queue events that reached it and that it delivered (not seen
 * before). Every object that holds connections (the room and each shard): connections opened, and broadcasts
 * delivered to a connection (one message to 40 listeners is 40).
 */
export const COUNTERS = [
  "sessions_started",
  "auth_failures",
  "chat_messages",
  "rate_limited",
  "refused_messages",
  "recovered_sessions",
  "unrecovered_sessions",
  "events_received",
  "events_delivered",
  "connects",
  "deliveries",
] as const;
export type Counter = (typeof COUNTERS)[number];

/**
 * What an app's objects hold, as it stood at the end of each minute: open connections by transport and by
 * client generation (Engine.IO 3 is socket.io-client 1.x and 2.x, Engine.IO 4 is 3.x and later, plain is the
 * plain-WebSocket protocol), authenticated users app-wide (distinct; the room's presence), and the shards new
 * connections are spread over.
 */
export const GAUGES = [
  "connections_websocket",
  "connections_polling",
  "connections_eio3",
  "connections_eio4",
  "connections_plain",
  "users",
  "shards",
] as const;
export type Gauge = (typeof GAUGES)[number];

/** What the connection gauges read of a connection. */
export interface MeteredConnection {
  transport: { kind: "websocket" | "polling" };
  state: { stack: string; engine: { protocol: number } };
}

/** Open connections by transport and by client generation. */
export function connectionGauges(connections: Iterable<MeteredConnection>): Partial<Record<Gauge, number>> {
  const gauges = { connections_websocket: 0, connections_polling: 0, connections_eio3: 0, connections_eio4: 0, connections_plain: 0 };
  for (const connection of connections) {
    if (connection.transport.kind === "websocket") gauges.connections_websocket += 1;
    else gauges.connections_polling += 1;
    if (connection.state.stack === "plain") gauges.connections_plain += 1;
    else if (connection.state.engine.protocol === 3) gauges.connections_eio3 += 1;
    else gauges.connections_eio4 += 1;
  }
  return gauges;
}

export const MINUTE_MS = 60_000;
/** How long minutes are kept: the admin API serves the last 48 hours. */
export const KEPT_MS = 48 * 3_600_000;
/**
 * How long counts wait in memory before they are added to storage: one write for all of them. Short, as the
 * object's other timers: each is held (ctx.waitUntil) until it fires, and an eviction waits for it.
 */
const FLUSH_MS = 1_000;

/** One minute of an app's metrics: its start (ISO-8601), each counter's count in it and each gauge at its end. */
export type MetricsMinute = { minute: string } & Record<Counter | Gauge, number>;

/**
 * An object's metrics by minute. Counting adds to memory only; at most {@link FLUSH_MS} later, what was counted
 * is added to the object's own SQLite storage in one transaction, with the gauges as they stand then (those that
 * changed), and only then forgotten: a count is stored once, never lost to hibernation (the pending timer keeps
 * the object awake until it fires) and never added twice after a restart. An eviction or crash in that second
 * loses it. Gauges change only when something happens, and whatever happens schedules a flush, so a minute with
 * no row carries the gauge of the last minute that has one.
 */
export class MinuteMetrics {
  /** Minute start → counts not yet stored (one array slot per counter). */
  private readonly unsaved = new Map<number, number[]>();
  /** The gauges as last stored, so that only changes are written. */
  private readonly storedGauges = new Map<Gauge, number>();
  private flushTimer: (() => void) | null = null;
  /** The minute of the last flush: old minutes are deleted at most once a minute. */
  private prunedMinute = -1;

  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: Pick<DurableObjectStorage, "sql" | "transactionSync">,
    private readonly clock: Clock,
    /** The gauges this object knows, as they stand (read at each flush). */
    private readonly sampleGauges: () => Partial<Record<Gauge, number>>,
    /** Called after a flush stored something (for an export that follows). */
    private readonly stored: () => void = () => {},
  ) {
    this.sql = storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS minute_counts (minute INTEGER NOT NULL, counter TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (minute, counter)) WITHOUT ROWID",
    );
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS minute_gauges (minute INTEGER NOT NULL, gauge TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (gauge, minute)) WITHOUT ROWID",
    );
    this.sql.exec("CREATE TABLE IF NOT EXISTS metric_totals (counter TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID");
    for (const row of this.sql.exec<{ gauge: Gauge; value: number }>(
      "SELECT gauge, value FROM minute_gauges AS g WHERE minute = (SELECT MAX(minute) FROM minute_gauges WHERE gauge = g.gauge)",
    )) {
      this.storedGauges.set(row.gauge, row.value);
    }
  }

  count(counter: Counter, amount = 1): void {
    const minute = minuteOf(this.clock.now());
    let counts = this.unsaved.get(minute);
    if (!counts) {
      counts = COUNTERS.map(() => 0);
      this.unsaved.set(minute, counts);
    }
    counts[COUNTERS.indexOf(counter)]! += amount;
    this.changed();
  }

  /** Something a gauge reads changed (a connection closed, a user left): the next flush samples them. */
  changed(): void {
    this.flushTimer ??= this.clock.later(FLUSH_MS, () => this.flush());
  }

  /** Adds what was counted to storage with the gauges that changed, and drops minutes older than {@link KEPT_MS}. */
  flush(): void {
    this.flushTimer?.();
    this.flushTimer = null;
    const now = this.clock.now();
    const gauges = Object.entries(this.sampleGauges()).filter(([gauge, value]) => this.storedGauges.get(gauge as Gauge) !== value) as Array<[Gauge, number]>;
    if (this.unsaved.size === 0 && gauges.length === 0) return;
    // One transaction: if a statement fails, nothing is stored, and the next flush adds it all once.
    this.storage.transactionSync(() => {
      for (const [minute, counts] of this.unsaved) {
        counts.forEach((value, index) => {
          if (value === 0) return;
          this.sql.exec(
            "INSERT INTO minute_counts (minute, counter, value) VALUES (?, ?, ?) ON CONFLICT (minute, counter) DO UPDATE SET value = value + excluded.value",
            minute,
            COUNTERS[index]!,
            value,
          );
          this.sql.exec(
            "INSERT INTO metric_totals (counter, value) VALUES (?, ?) ON CONFLICT (counter) DO UPDATE SET value = value + excluded.value",
            COUNTERS[index]!,
            value,
          );
        });
      }
      for (const [gauge, value] of gauges) {
        this.sql.exec(
          "INSERT INTO minute_gauges (minute, gauge, value) VALUES (?, ?, ?) ON CONFLICT (gauge, minute) DO UPDATE SET value = excluded.value",
          minuteOf(now),
          gauge,
          value,
        );
      }
      // Once a minute, minutes past what is kept go. The minute that contains the oldest time kept stays whole,
      // and so does each gauge's latest row.
      if (minuteOf(now) !== this.prunedMinute) {
        const oldest = now - KEPT_MS - MINUTE_MS;
        this.sql.exec("DELETE FROM minute_counts WHERE minute < ?", oldest);
        this.sql.exec("DELETE FROM minute_gauges AS g WHERE minute < ? AND minute < (SELECT MAX(minute) FROM minute_gauges WHERE gauge = g.gauge)", oldest);
      }
    });
    this.prunedMinute = minuteOf(now);
    this.unsaved.clear();
    for (const [gauge, value] of gauges) this.storedGauges.set(gauge, value);
    this.stored();
  }

  /** Each counter's total since this object began (it only grows), and each gauge as it stands. */
  current(): Record<Counter | Gauge, number> {
    this.flush();
    const current = Object.fromEntries([...COUNTERS, ...GAUGES].map((name) => [name, 0])) as Record<Counter | Gauge, number>;
    for (const row of this.sql.exec<{ counter: Counter; value: number }>("SELECT counter, value FROM metric_totals")) current[row.counter] = row.value;
    for (const [gauge, value] of this.storedGauges) current[gauge] = value;
    return current;
  }

  /**
   * Every minute from `from` to `to` (epoch ms, the minutes that contain them): counts, with zeros where nothing
   * was counted, and gauges, each carried from the last minute that stored it.
   */
  series(from: number, to: number): MetricsMinute[] {
    this.flush();
    const first = minuteOf(from);
    const last = minuteOf(to);
    const stored = new Map<number, Record<string, number>>();
    const add = (minute: number, name: string, value: number) => {
      const values = stored.get(minute) ?? {};
      values[name] = value;
      stored.set(minute, values);
    };
    for (const row of this.sql.exec<{ minute: number; counter: string; value: number }>("SELECT minute, counter, value FROM minute_counts WHERE minute BETWEEN ? AND ?", first, last)) {
      add(row.minute, row.counter, row.value);
    }
    for (const row of this.sql.exec<{ minute: number; gauge: string; value: number }>("SELECT minute, gauge, value FROM minute_gauges WHERE minute BETWEEN ? AND ?", first, last)) {
      add(row.minute, row.gauge, row.value);
    }
    const carried: Record<string, number> = {};
    for (const row of this.sql.exec<{ gauge: string; value: number }>(
      "SELECT gauge, value FROM minute_gauges AS g WHERE minute = (SELECT MAX(minute) FROM minute_gauges WHERE gauge = g.gauge AND minute < ?)",
      first,
    )) {
      carried[row.gauge] = row.value;
    }
    const series: MetricsMinute[] = [];
    for (let minute = first; minute <= last; minute += MINUTE_MS) {
      const values = stored.get(minute) ?? {};
      const entry: Record<string, number | string> = { minute: new Date(minute).toISOString() };
      for (const counter of COUNTERS) entry[counter] = values[counter] ?? 0;
      for (const gauge of GAUGES) entry[gauge] = carried[gauge] = values[gauge] ?? carried[gauge] ?? 0;
      series.push(entry as MetricsMinute);
    }
    return series;
  }
}

export function minuteOf(time: number): number {
  return Math.floor(time / MINUTE_MS) * MINUTE_MS;
}

/** The app's series from those of each of its objects, minute by minute: counts and gauges add up. */
export function sumSeries(parts: MetricsMinute[][]): MetricsMinute[] {
  const [first, ...rest] = parts;
  if (!first) return [];
  return first.map((minute, index) => {
    const sum = { ...minute };
    for (const part of rest) {
      const other = part[index];
      if (!other) continue;
      for (const name of [...COUNTERS, ...GAUGES]) sum[name] += other[name];
    }
    return sum;
  });
}
