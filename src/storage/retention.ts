import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import type { PlacedApp } from "../placement.js";
import { placementColumns, placementOf } from "./d1-apps.js";

/** The longest retention an app may set: ten years, which is as good as "keep" for chat. */
export const MAX_RETENTION_DAYS = 3_650;
const DAY_MS = 86_400_000;

/** An app whose oldest message is past its retention, and the time before which its messages go. */
export interface ExpiredApp extends PlacedApp {
  cutoff: number;
}

const ExpiredRow = builtOnFirstUse(() => z.object({
  id: z.number().int(),
  cutoff: z.number(),
  ...placementColumns(),
}));

/**
 * Deletions of what outlived its time, each statement bounded in the rows it reads and writes (D1 bills them,
 * and allows 30 s a query). An app's messages are deleted oldest first, in id order: the room writes an
 * app's messages with its own clock, so id order is time order and the expired ones are a prefix.
 */
export class D1Retention {
  constructor(
    private readonly db: D1Database,
    /** The retention of apps that set none (`MESSAGE_RETENTION_DAYS`). */
    private readonly defaultDays: number,
  ) {}

  /**
   * The apps (at most `limit`, lowest id first, above `after`) whose oldest message is past their retention.
   * Reads two rows an app: its row and its oldest message, found by `messages_by_app`.
   */
  async expiredApps(now: number, after: number, limit: number): Promise<ExpiredApp[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, cutoff, jurisdiction, location_hint
         FROM (SELECT id, ?1 - coalesce(retention_days, ?2) * ${DAY_MS} AS cutoff, jurisdiction, location_hint FROM apps WHERE id > ?3) AS app
         WHERE (SELECT created_at FROM messages WHERE app_id = app.id ORDER BY id LIMIT 1) < app.cutoff
         ORDER BY id LIMIT ?4`,
      )
      .bind(now, this.defaultDays, after, limit)
      .all();
    return results.map((row) => {
      const app = ExpiredRow.parse(row);
      return { id: app.id, cutoff: app.cutoff, placement: placementOf(app) };
    });
  }

  /**
   * Deletes the expired among an app's `batch` oldest messages; fewer than `batch` deleted means the app has
   * none left that are expired.
   */
  async deleteExpiredMessages(app: ExpiredApp, batch: number): Promise<number> {
    const result = await this.db
      .prepare(
        `DELETE FROM messages WHERE id IN (
           SELECT id FROM (SELECT id, created_at FROM messages WHERE app_id = ?1 ORDER BY id LIMIT ?3) WHERE created_at < ?2)`,
      )
      .bind(app.id, app.cutoff, batch)
      .run();
    return result.meta.changes;
  }

  /** Deletes up to `batch` mutes that have run out (found by `mutes_by_expiry`). */
  async deleteExpiredMutes(now: number, batch: number): Promise<number> {
    const result = await this.db
      .prepare("DELETE FROM mutes WHERE rowid IN (SELECT rowid FROM mutes WHERE expires_at <= ?1 LIMIT ?2)")
      .bind(now, batch)
      .run();
    return result.meta.changes;
  }

  /** Deletes up to `batch` records of webhook delivery attempts made before `before` (found by `webhook_deliveries_by_age`). */
  async deleteWebhookDeliveriesBefore(before: number, batch: number): Promise<number> {
    const result = await this.db
      .prepare("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE attempted_at < ?1 LIMIT ?2)")
      .bind(before, batch)
      .run();
    return result.meta.changes;
  }
}
