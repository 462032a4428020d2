import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { minuteOf, type Counter, type Gauge } from "../metrics/minute-metrics.js";

/** What a scrape reads: each app's metric values, added up over the sources that wrote them. */
export interface ScrapedValue {
  appId: number;
  name: string;
  value: number;
  /** When the last of its sources wrote it (epoch ms). */
  updatedAt: number;
}

/** Counts that the Queue consumers keep in D1, as no app object sees them (webhook attempts by minute are read from their own records). */
export type ConsumerCounter = "dead_lettered" | "webhook_deliveries" | "webhook_failures";

const ScrapedRow = builtOnFirstUse(() => z.object({ app_id: z.int(), name: z.string(), value: z.number(), updated_at: z.number() }));
const MinuteRow = builtOnFirstUse(() => z.object({ minute: z.number(), value: z.number() }));

/** D1 queries of metrics: the values scrapes read, and counts by minute kept outside the app's objects. */
export class D1Metrics {
  constructor(private readonly db: D1Database) {}

  /** A source's counters and gauges as they stand, replacing what it wrote before (one statement). */
  async saveCurrent(appId: number, source: string, values: Record<Counter | Gauge, number>, at: number): Promise<void> {
    const entries = Object.entries(values);
    const rows = entries.map((_, index) => `(?1, ?2, ?${index * 2 + 4}, ?${index * 2 + 5}, ?3)`).join(", ");
    await this.db
      .prepare(
        `INSERT INTO metric_values (app_id, source, name, value, updated_at) VALUES ${rows}
         ON CONFLICT (app_id, source, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .bind(appId, source, at, ...entries.flat())
      .run();
  }

  /**
   * Adds to a consumer's counts of an app: each to its total, for scrapes; dead letters also to their minute,
   * for the app's series (webhook attempts by minute are read from their own records). Zero counts add nothing.
   */
  countStatements(appId: number, source: string, counts: Partial<Record<ConsumerCounter, number>>, at: number): D1PreparedStatement[] {
    const statements: D1PreparedStatement[] = [];
    for (const [name, amount] of Object.entries(counts) as Array<[ConsumerCounter, number]>) {
      if (amount <= 0) continue;
      statements.push(
        this.db
          .prepare(
            `INSERT INTO metric_values (app_id, source, name, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (app_id, source, name) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at`,
          )
          .bind(appId, source, name, amount, at),
      );
      if (name !== "dead_lettered") continue;
      statements.push(
        this.db
          .prepare(
            "INSERT INTO metric_minutes (app_id, minute, name, value) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (app_id, minute, name) DO UPDATE SET value = value + excluded.value",
          )
          .bind(appId, minuteOf(at), name, amount),
      );
    }
    return statements;
  }

  /** A consumer count of an app by minute, from `from` to `to` (epoch ms): minute start → count. */
  async minuteCounts(appId: number, name: ConsumerCounter, from: number, to: number): Promise<Map<number, number>> {
    const { results } = await this.db
      .prepare("SELECT minute, value FROM metric_minutes WHERE app_id = ?1 AND name = ?2 AND minute BETWEEN ?3 AND ?4")
      .bind(appId, name, minuteOf(from), to)
      .all();
    return new Map(results.map((row) => MinuteRow.parse(row)).map(({ minute, value }) => [minute, value]));
  }

  /** Every app's values, each added up over its sources (one row read per app, source and name). */
  async scrape(): Promise<ScrapedValue[]> {
    const { results } = await this.db
      .prepare("SELECT app_id, name, sum(value) AS value, max(updated_at) AS updated_at FROM metric_values GROUP BY app_id, name ORDER BY app_id, name")
      .all();
    return results.map((row) => ScrapedRow.parse(row)).map((row) => ({ appId: row.app_id, name: row.name, value: row.value, updatedAt: row.updated_at }));
  }

  /** Deletes the counts by minute older than `cutoff` (epoch ms); answers how many went. */
  async pruneMinutes(cutoff: number): Promise<number> {
    const { meta } = await this.db.prepare("DELETE FROM metric_minutes WHERE minute < ?1").bind(cutoff).run();
    return meta.changes;
  }
}
