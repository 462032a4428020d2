import type { Clock } from "../deadline.js";

/**
 * What an app's room counts, per minute: sessions its auths started and auths that failed (a malformed or
 * refused auth, or a token that grants no user), chat messages taken and refused (rate limits and slow mode
 * apart), sessions recovered or not, and Queue events that reached it and that it delivered (not seen before).
 */
export const ROOM_COUNTERS = [
  "sessions_started",
  "auth_failures",
  "chat_messages",
  "rate_limited",
  "refused_messages",
  "recovered_sessions",
  "unrecovered_sessions",
  "events_received",
  "events_delivered",
] as const;
export type RoomCounter = (typeof ROOM_COUNTERS)[number];

export const MINUTE_MS = 60_000;
/** How long minutes are kept: the admin API serves the last 48 hours. */
export const KEPT_MS = 48 * 3_600_000;
/**
 * How long counts wait in memory before they are added to storage: one write for all of them. Short, as the
 * object's other timers: each is held (ctx.waitUntil) until it fires, and an eviction waits for it.
 */
const FLUSH_MS = 1_000;

/** One minute of counts: its start (ISO-8601) and each counter's value in it. */
export type CountedMinute = { minute: string } & Record<RoomCounter, number>;

/**
 * A room's counters by minute. Counting adds to memory only; what was counted is added to the object's own
 * SQLite storage at most {@link FLUSH_MS} later, in one transaction, and only then forgotten, so a
 * count is stored once: never lost to hibernation (the pending timer keeps the object awake until it fires) and
 * never added twice after a restart. An eviction or crash in those seconds loses them.
 */
export class MinuteCounts {
  /** Minute start → counts not yet stored (one array slot per counter). */
  private readonly unsaved = new Map<number, number[]>();
  private flushTimer: (() => void) | null = null;

  private readonly sql: SqlStorage;

  constructor(
    private readonly storage: Pick<DurableObjectStorage, "sql" | "transactionSync">,
    private readonly clock: Clock,
  ) {
    this.sql = storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS minute_counts (minute INTEGER NOT NULL, counter TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (minute, counter)) WITHOUT ROWID",
    );
  }

  count(counter: RoomCounter, amount = 1): void {
    const minute = Math.floor(this.clock.now() / MINUTE_MS) * MINUTE_MS;
    let counts = this.unsaved.get(minute);
    if (!counts) {
      counts = ROOM_COUNTERS.map(() => 0);
      this.unsaved.set(minute, counts);
    }
    counts[ROOM_COUNTERS.indexOf(counter)]! += amount;
    this.flushTimer ??= this.clock.later(FLUSH_MS, () => this.flush());
  }

  /** Adds what was counted to storage, and drops minutes older than {@link KEPT_MS}. */
  flush(): void {
    this.flushTimer?.();
    this.flushTimer = null;
    if (this.unsaved.size === 0) return;
    // One transaction: if a statement fails, none of the counts is stored, and the next flush adds them all once.
    this.storage.transactionSync(() => {
      for (const [minute, counts] of this.unsaved) {
        counts.forEach((value, index) => {
          if (value === 0) return;
          this.sql.exec(
            "INSERT INTO minute_counts (minute, counter, value) VALUES (?, ?, ?) ON CONFLICT (minute, counter) DO UPDATE SET value = value + excluded.value",
            minute,
            ROOM_COUNTERS[index]!,
            value,
          );
        });
      }
      // The minute that contains the oldest time kept stays whole.
      this.sql.exec("DELETE FROM minute_counts WHERE minute < ?", this.clock.now() - KEPT_MS - MINUTE_MS);
    });
    this.unsaved.clear();
  }

  /** Every minute from `from` to `to` (epoch ms, the minutes that contain them), with zeros where nothing was counted. */
  series(from: number, to: number): CountedMinute[] {
    this.flush();
    const first = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const last = Math.floor(to / MINUTE_MS) * MINUTE_MS;
    const stored = new Map<number, Record<string, number>>();
    for (const row of this.sql.exec<{ minute: number; counter: string; value: number }>("SELECT minute, counter, value FROM minute_counts WHERE minute BETWEEN ? AND ?", first, last)) {
      const counts = stored.get(row.minute) ?? {};
      counts[row.counter] = row.value;
      stored.set(row.minute, counts);
    }
    const series: CountedMinute[] = [];
    for (let minute = first; minute <= last; minute += MINUTE_MS) {
      const counts = stored.get(minute) ?? {};
      series.push({ minute: new Date(minute).toISOString(), ...(Object.fromEntries(ROOM_COUNTERS.map((counter) => [counter, counts[counter] ?? 0])) as Record<RoomCounter, number>) });
    }
    return series;
  }
}
