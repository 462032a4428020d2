import type { Clock } from "../deadline.js";
import { log } from "../log.js";
import { COUNTERS, GAUGES, MINUTE_MS, minuteOf, type Counter, type Gauge, type MetricsMinute, type MinuteMetrics } from "./minute-metrics.js";

/** How long after the end of an export period in which something happened its metrics are exported. */
const EXPORT_DELAY_MS = 2_000;
/**
 * The most finished minutes one export writes as Analytics Engine data points (a Worker invocation may write
 * 250): an object that was busy, then quiet for longer, exports its last hour.
 */
export const MAX_EXPORTED_MINUTES = 60;

/** Where an object's metrics go beyond its own storage. */
export interface MetricsSink {
  /** The source's counters (totals since it began) and gauges, as they stand. */
  current(appId: number, source: string, values: Record<Counter | Gauge, number>, at: number): Promise<void>;
  /** Finished minutes, one point each (when there is somewhere to write them). */
  minutes(appId: number, source: string, minutes: MetricsMinute[]): void;
}

/**
 * Exports an object's metrics once the period (a minute by default) in which something happened is over, and
 * not more than once a period: its totals and gauges to D1 (what a scrape reads, so that scraping wakes no object), and each finished
 * minute to the sink's series. Nothing happening, nothing is exported and nothing wakes the object. The last
 * minute exported and the export due are kept in the object's storage, so a restart neither skips nor repeats
 * a minute, nor loses an export that was due.
 */
export class MetricsExporter {
  private dueAt: number | null = null;
  private readonly sql: SqlStorage;

  constructor(
    storage: Pick<DurableObjectStorage, "sql">,
    private readonly meter: MinuteMetrics,
    private readonly source: { appId: number; name: string },
    private readonly sink: MetricsSink,
    private readonly clock: Clock,
    /** The export period: at most one export in each (a minute by default, METRICS_EXPORT_SECONDS). */
    private readonly everyMs: number,
  ) {
    this.sql = storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS metrics_exported (id INTEGER PRIMARY KEY CHECK (id = 0), last_minute INTEGER, due_at INTEGER)");
    // An export that was due when the object went away (an eviction, a deploy) is still due.
    this.dueAt = this.state()?.due_at ?? null;
  }

  /** Something was stored: an export is due once its period is over. Answers when. */
  stored(): number {
    if (this.dueAt === null) {
      this.dueAt = (Math.floor(this.clock.now() / this.everyMs) + 1) * this.everyMs + EXPORT_DELAY_MS;
      this.save({ due_at: this.dueAt });
    }
    return this.dueAt;
  }

  /** When the next export is due; null when nothing waits for one. */
  due(): number | null {
    return this.dueAt;
  }

  /** Exports, if an export is due; a failed one is tried again a period later. */
  async run(): Promise<void> {
    const now = this.clock.now();
    if (this.dueAt === null || this.dueAt > now) return;
    this.dueAt = null;
    const { appId, name } = this.source;
    try {
      await this.sink.current(appId, name, this.meter.current(), now);
      const lastFinished = minuteOf(now) - MINUTE_MS;
      const exported = this.state()?.last_minute ?? -Infinity;
      const first = Math.max(exported + MINUTE_MS, lastFinished - (MAX_EXPORTED_MINUTES - 1) * MINUTE_MS);
      if (first <= lastFinished) this.sink.minutes(appId, name, this.meter.series(first, lastFinished).filter(happened));
      this.save({ last_minute: Math.max(exported, lastFinished), due_at: this.dueAt });
    } catch (error) {
      log("metrics_export_failed", { app_id: appId, source: name, error: String(error) });
      this.dueAt = now + this.everyMs;
      this.save({ due_at: this.dueAt });
    }
  }

  private state(): { last_minute: number | null; due_at: number | null } | undefined {
    return this.sql.exec<{ last_minute: number | null; due_at: number | null }>("SELECT last_minute, due_at FROM metrics_exported").toArray()[0];
  }

  /** Keeps the export due, and the last minute exported when it moved (null keeps the one stored). */
  private save(change: { last_minute?: number; due_at: number | null }): void {
    this.sql.exec(
      "INSERT INTO metrics_exported (id, last_minute, due_at) VALUES (0, ?, ?) ON CONFLICT (id) DO UPDATE SET last_minute = coalesce(excluded.last_minute, last_minute), due_at = excluded.due_at",
      change.last_minute ?? null,
      change.due_at,
    );
  }
}

/** A minute in which something was counted or something is open. */
function happened(minute: MetricsMinute): boolean {
  return COUNTERS.some((counter) => minute[counter] > 0) || GAUGES.some((gauge) => minute[gauge] > 0);
}
