import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { isoDate } from "../iso-date.js";
import { MINUTE_MS, minuteOf } from "../metrics/minute-metrics.js";
import { D1Metrics, type ConsumerCounter } from "./d1-metrics.js";
import { WebhookEventType } from "../webhooks/events.js";
import type { WebhookSubscription } from "../webhooks/outbox.js";

/** D1 queries of webhooks: the endpoints apps register, and the attempts at delivering to them. */

/** The source the webhook consumer's counts are kept under in `metric_values`. */
const WEBHOOKS_SOURCE = "queue:webhooks";

const EndpointRow = builtOnFirstUse(() => z.object({
  id: z.int(),
  app_id: z.int(),
  url: z.string(),
  events: z.string().transform((text) => z.array(WebhookEventType).parse(JSON.parse(text))),
  enabled: z.int().transform((value) => value === 1),
  failures: z.int(),
  disabled_at: z.number().nullable(),
  disabled_reason: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
}));

const ENDPOINT_COLUMNS = "id, app_id, url, events, enabled, failures, disabled_at, disabled_reason, created_at, updated_at";

function endpointView(row: unknown) {
  const { app_id: _, ...endpoint } = EndpointRow.parse(row);
  return { ...endpoint, disabled_at: isoDate(endpoint.disabled_at), created_at: isoDate(endpoint.created_at), updated_at: isoDate(endpoint.updated_at) };
}
export type EndpointView = ReturnType<typeof endpointView>;

/** What the consumer needs of an endpoint to deliver to it. */
export interface DeliveryTarget {
  appId: number;
  url: string;
  sealedSecret: string;
  enabled: boolean;
}

/** One attempt at delivering one event to one endpoint, as the consumer made it. */
export interface DeliveryAttempt {
  appId: number;
  endpointId: number;
  eventId: string;
  type: WebhookEventType;
  attempt: number;
  /** The HTTP status the endpoint answered, or null when it did not (timeout, refused connection). */
  status: number | null;
  error: string | null;
  durationMs: number;
  attemptedAt: number;
  /** When the Queue tries again; null when delivered, or given up (dead-lettered). */
  nextRetryAt: number | null;
}

/** When an endpoint is disabled: failed attempts in a row, and failing for at least this long without a success. */
export interface DisableRule {
  failures: number;
  afterMs: number;
}

const DeliveryRow = builtOnFirstUse(() => z.object({
  event_id: z.string(),
  type: WebhookEventType,
  attempt: z.int(),
  status: z.int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.int(),
  attempted_at: z.number(),
  next_retry_at: z.number().nullable(),
}));

export class D1Webhooks {
  constructor(private readonly db: D1Database) {}

  /**
   * Adds an endpoint unless the app has `most` already (null then): the count and the insert are one statement,
   * so two creates at once cannot both pass it.
   */
  async create(appId: number, url: string, events: WebhookEventType[], sealedSecret: string, now: number, most: number): Promise<EndpointView | null> {
    const row = await this.db
      .prepare(
        `INSERT INTO webhook_endpoints (app_id, url, events, sealed_secret, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?5 WHERE (SELECT count(*) FROM webhook_endpoints WHERE app_id = ?1) < ?6
         RETURNING ${ENDPOINT_COLUMNS}`,
      )
      .bind(appId, url, JSON.stringify(events), sealedSecret, now, most)
      .first();
    return row ? endpointView(row) : null;
  }

  async list(appId: number): Promise<EndpointView[]> {
    const { results } = await this.db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE app_id = ?1 ORDER BY id`).bind(appId).all();
    return results.map(endpointView);
  }

  async find(appId: number, id: number): Promise<EndpointView | null> {
    const row = await this.db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE app_id = ?1 AND id = ?2`).bind(appId, id).first();
    return row ? endpointView(row) : null;
  }

  /** Changes an endpoint; enabling one starts its count of failures again. Null when the app has no such endpoint. */
  async update(appId: number, id: number, change: { url?: string | undefined; events?: WebhookEventType[] | undefined; enabled?: boolean | undefined }, now: number): Promise<EndpointView | null> {
    const enabling = change.enabled === true;
    const row = await this.db
      .prepare(
        `UPDATE webhook_endpoints SET
           url = COALESCE(?3, url), events = COALESCE(?4, events), enabled = COALESCE(?5, enabled),
           failures = CASE WHEN ?6 THEN 0 ELSE failures END,
           failing_since = CASE WHEN ?6 THEN NULL ELSE failing_since END,
           disabled_at = CASE WHEN ?5 IS NULL OR (?5 = 0 AND enabled = 0) THEN disabled_at WHEN ?5 = 1 THEN NULL ELSE ?7 END,
           disabled_reason = CASE WHEN ?5 IS NULL OR (?5 = 0 AND enabled = 0) THEN disabled_reason WHEN ?5 = 1 THEN NULL ELSE 'disabled by the app' END,
           updated_at = ?7
         WHERE app_id = ?1 AND id = ?2 RETURNING ${ENDPOINT_COLUMNS}`,
      )
      .bind(appId, id, change.url ?? null, change.events ? JSON.stringify(change.events) : null, change.enabled === undefined ? null : Number(change.enabled), Number(enabling), now)
      .first();
    return row ? endpointView(row) : null;
  }

  /** Replaces an endpoint's secret; false when the app has no such endpoint. */
  async reseal(appId: number, id: number, sealedSecret: string, now: number): Promise<boolean> {
    const result = await this.db.prepare("UPDATE webhook_endpoints SET sealed_secret = ?3, updated_at = ?4 WHERE app_id = ?1 AND id = ?2").bind(appId, id, sealedSecret, now).run();
    return result.meta.changes > 0;
  }

  /** Deletes an endpoint and its record of attempts; false when the app has no such endpoint. */
  async delete(appId: number, id: number): Promise<boolean> {
    const [deleted] = await this.db.batch([
      this.db.prepare("DELETE FROM webhook_endpoints WHERE app_id = ?1 AND id = ?2").bind(appId, id),
      // Only if it was this app's (and so is gone now).
      this.db.prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1 AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?1)").bind(id),
    ]);
    return deleted!.meta.changes > 0;
  }

  /** The app's enabled endpoints and the types each takes: what its room sends events for. */
  async subscriptions(appId: number): Promise<WebhookSubscription[]> {
    const { results } = await this.db.prepare("SELECT id, events FROM webhook_endpoints WHERE app_id = ?1 AND enabled = 1").bind(appId).all();
    return results.map((row) => EndpointRow.pick({ id: true, events: true }).parse(row));
  }

  /** The endpoints of these ids that still exist. */
  async targets(ids: number[]): Promise<Map<number, DeliveryTarget>> {
    if (ids.length === 0) return new Map();
    const { results } = await this.db
      .prepare(`SELECT id, app_id, url, sealed_secret, enabled FROM webhook_endpoints WHERE id IN (SELECT value FROM json_each(?1))`)
      .bind(JSON.stringify(ids))
      .all();
    const Target = z.object({ id: z.int(), app_id: z.int(), url: z.string(), sealed_secret: z.string(), enabled: z.int() });
    return new Map(results.map((row) => Target.parse(row)).map((row) => [row.id, { appId: row.app_id, url: row.url, sealedSecret: row.sealed_secret, enabled: row.enabled === 1 }]));
  }

  /**
   * Records attempts, in one batch: each is kept for the deliveries listing, and counts towards (a failure) or
   * ends (a success) its endpoint's run of failures. Answers the endpoints these attempts disabled, by `rule`.
   */
  async record(attempts: DeliveryAttempt[], rule: DisableRule, now: number): Promise<Array<{ id: number; appId: number }>> {
    if (attempts.length === 0) return [];
    const statements = attempts.flatMap((attempt) => [
      this.db
        .prepare(
          `INSERT INTO webhook_deliveries (endpoint_id, event_id, type, attempt, status, error, duration_ms, attempted_at, next_retry_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
        )
        .bind(attempt.endpointId, attempt.eventId, attempt.type, attempt.attempt, attempt.status, attempt.error, attempt.durationMs, attempt.attemptedAt, attempt.nextRetryAt),
      attempt.error === null
        ? this.db.prepare("UPDATE webhook_endpoints SET failures = 0, failing_since = NULL WHERE id = ?1 RETURNING id, app_id, disabled_at").bind(attempt.endpointId)
        : this.db
            .prepare(
              `UPDATE webhook_endpoints SET
                 failures = failures + 1,
                 failing_since = COALESCE(failing_since, ?2),
                 enabled = CASE WHEN enabled = 1 AND failures + 1 >= ?3 AND ?2 - COALESCE(failing_since, ?2) >= ?4 THEN 0 ELSE enabled END,
                 disabled_at = CASE WHEN enabled = 1 AND failures + 1 >= ?3 AND ?2 - COALESCE(failing_since, ?2) >= ?4 THEN ?2 ELSE disabled_at END,
                 disabled_reason = CASE WHEN enabled = 1 AND failures + 1 >= ?3 AND ?2 - COALESCE(failing_since, ?2) >= ?4 THEN ?5 ELSE disabled_reason END
               WHERE id = ?1 RETURNING id, app_id, disabled_at`,
            )
            .bind(attempt.endpointId, now, rule.failures, rule.afterMs, `disabled after ${rule.failures} failed attempts in a row`),
    ]);
    const results = await this.db.batch(statements);
    // An endpoint these attempts disabled has been disabled at `now` (SQLite's UPDATE reads the row as it was).
    const disabled = new Map<number, number>();
    for (const [index, result] of results.entries()) {
      if (index % 2 === 0) continue;
      const row = z.object({ id: z.int(), app_id: z.int(), disabled_at: z.number().nullable() }).optional().parse(result.results[0]);
      if (row?.disabled_at === now && attempts[(index - 1) / 2]!.error !== null) disabled.set(row.id, row.app_id);
    }
    return [...disabled].map(([id, appId]) => ({ id, appId }));
  }

  /**
   * Counts the attempts for the apps' metrics, apart from their record (a count that fails loses nothing else):
   * delivered and failed, per app, for scrapes; and those the Queue dead-letters (a failed last attempt, or one
   * given up unsent, `givenUpUnsent` per app), by minute too.
   */
  async count(attempts: DeliveryAttempt[], givenUpUnsent: Map<number, number>, now: number): Promise<void> {
    const metrics = new D1Metrics(this.db);
    const byApp = new Map<number, Record<ConsumerCounter, number>>();
    const countsOf = (appId: number) => {
      const counts = byApp.get(appId) ?? { webhook_deliveries: 0, webhook_failures: 0, dead_lettered: 0 };
      byApp.set(appId, counts);
      return counts;
    };
    for (const attempt of attempts) {
      const counts = countsOf(attempt.appId);
      if (attempt.error === null) counts.webhook_deliveries += 1;
      else counts.webhook_failures += 1;
      if (attempt.error !== null && attempt.nextRetryAt === null) counts.dead_lettered += 1;
    }
    for (const [appId, given] of givenUpUnsent) countsOf(appId).dead_lettered += given;
    const statements = [...byApp].flatMap(([appId, counts]) => metrics.countStatements(appId, WEBHOOKS_SOURCE, counts, now));
    if (statements.length > 0) await this.db.batch(statements);
  }

  /** The latest attempts at delivering to an endpoint, newest first. */
  async deliveries(endpointId: number, limit: number) {
    const { results } = await this.db
      .prepare("SELECT event_id, type, attempt, status, error, duration_ms, attempted_at, next_retry_at FROM webhook_deliveries WHERE endpoint_id = ?1 ORDER BY attempted_at DESC, id DESC LIMIT ?2")
      .bind(endpointId, limit)
      .all();
    return results.map((row) => {
      const delivery = DeliveryRow.parse(row);
      return { ...delivery, attempted_at: isoDate(delivery.attempted_at), next_retry_at: isoDate(delivery.next_retry_at) };
    });
  }

  /**
   * The app's delivery attempts by minute, in the whole minutes that contain `from` and `to` (epoch ms) and
   * those between: those that delivered and those that failed, over its endpoints (from the record of attempts,
   * kept a week; an endpoint's deleted with it).
   */
  async attemptsByMinute(appId: number, from: number, to: number): Promise<Map<number, { delivered: number; failed: number }>> {
    const first = minuteOf(from);
    const last = minuteOf(to) + MINUTE_MS - 1;
    const { results } = await this.db
      .prepare(
        // The minute inline, an integer literal: a bound number would make the division a real one.
        `SELECT d.attempted_at / ${MINUTE_MS} * ${MINUTE_MS} AS minute, sum(d.error IS NULL) AS delivered, sum(d.error IS NOT NULL) AS failed
         FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id AND d.attempted_at BETWEEN ?2 AND ?3
         WHERE e.app_id = ?1 GROUP BY minute`,
      )
      .bind(appId, first, last)
      .all();
    const Row = z.object({ minute: z.number(), delivered: z.number(), failed: z.number() });
    return new Map(results.map((row) => Row.parse(row)).map(({ minute, delivered, failed }) => [minute, { delivered, failed }]));
  }
}
