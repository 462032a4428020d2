import { parseConfig, type Env } from "../config.js";
import { D1_QUERIES_PER_INVOCATION } from "../limits.js";
import { log } from "../log.js";
import { roomOf } from "../shards.js";
import { KEPT_MS, MINUTE_MS } from "../metrics/minute-metrics.js";
import { D1Metrics } from "../storage/d1-metrics.js";
import { D1Retention, type ExpiredApp } from "../storage/retention.js";

/** Rows one statement deletes at most: a few milliseconds of D1's time, far inside its 30 s a query. */
export const CLEANUP_BATCH_ROWS = 1_000;
/** Apps taken per page of the search for expired messages. */
const APPS_PER_PAGE = 100;
/**
 * The D1 queries and room calls one run makes at most: half of an invocation's allowance, so the run stays
 * inside it whatever the backlog. What is left over waits for the next run.
 */
export const CLEANUP_CALLS = D1_QUERIES_PER_INVOCATION / 2;

/** How long the record of a webhook delivery attempt is kept (the deliveries listing shows the latest). */
export const WEBHOOK_DELIVERIES_KEPT_MS = 7 * 86_400_000;

export interface CleanupReport {
  messages_deleted: number;
  mutes_deleted: number;
  webhook_deliveries_deleted: number;
  metric_minutes_deleted: number;
  /** Apps whose expired messages were all deleted by this run. */
  apps_cleaned: number;
  /** Running rooms told to drop what was deleted from their history. */
  rooms_told: number;
  /** True when the run used its allowance before everything expired was deleted; the next run goes on. */
  unfinished: boolean;
  calls: number;
}

/**
 * The Cron Trigger's work: deletes the mutes that have run out, records of webhook deliveries older than a
 * week, and each app's messages older than its
 * retention (the app's `retention_days`, else `MESSAGE_RETENTION_DAYS`), in statements of at most
 * {@link CLEANUP_BATCH_ROWS} rows and at most {@link CLEANUP_CALLS} calls a run. Apps take turns, a batch each,
 * so one app's backlog does not hold up the others. Rooms that deleted messages are told, so that their
 * history drops them too. Ends with one `cleanup` log line.
 */
export async function cleanUp(env: Env, now: number, allowance = CLEANUP_CALLS): Promise<CleanupReport> {
  const retention = new D1Retention(env.DB, parseConfig(env).messageRetentionDays);
  const report: CleanupReport = { messages_deleted: 0, mutes_deleted: 0, webhook_deliveries_deleted: 0, metric_minutes_deleted: 0, apps_cleaned: 0, rooms_told: 0, unfinished: false, calls: 0 };
  /** Makes a call if the allowance has room for it and for `reserved` more (the rooms still to be told). */
  const call = <T>(work: () => Promise<T>, reserved = 0): Promise<T> | null => {
    if (report.calls + reserved >= allowance) {
      report.unfinished = true;
      return null;
    }
    report.calls += 1;
    return work();
  };

  for (;;) {
    const deleted = await call(() => retention.deleteExpiredMutes(now, CLEANUP_BATCH_ROWS));
    if (deleted === null) break;
    report.mutes_deleted += deleted;
    if (deleted < CLEANUP_BATCH_ROWS) break;
  }


  let after = 0;
  for (;;) {
    const apps = await call(() => retention.expiredApps(now, after, APPS_PER_PAGE));
    if (apps === null || apps.length === 0) break;
    after = apps.at(-1)!.id;
    const touched = new Set<ExpiredApp>();
    let turn = apps;
    while (turn.length > 0) {
      const next: ExpiredApp[] = [];
      for (const app of turn) {
        // Room is kept to tell every app this run deleted from, this one included.
        const deleted = await call(() => retention.deleteExpiredMessages(app, CLEANUP_BATCH_ROWS), touched.size + (touched.has(app) ? 0 : 1));
        if (deleted === null) break;
        report.messages_deleted += deleted;
        if (deleted > 0) touched.add(app);
        if (deleted === CLEANUP_BATCH_ROWS) next.push(app);
        else report.apps_cleaned += 1;
      }
      turn = report.unfinished ? [] : next;
    }
    for (const app of touched) {
      // The allowance kept room for these calls. The messages are gone from storage either way; a room that
      // cannot be told drops them from its history when it restarts.
      report.calls += 1;
      await roomOf(env, app)
        .forgetMessagesBefore(app.id, app.cutoff)
        .then(
          () => (report.rooms_told += 1),
          (error: unknown) => log("cleanup_room_unreachable", { app_id: app.id, error: String(error) }),
        );
    }
    if (report.unfinished || apps.length < APPS_PER_PAGE) break;
  }
  // Last: the record of webhook deliveries takes what the allowance has left after the chat's retention.
  for (;;) {
    const deleted = await call(() => retention.deleteWebhookDeliveriesBefore(now - WEBHOOK_DELIVERIES_KEPT_MS, CLEANUP_BATCH_ROWS));
    if (deleted === null) break;
    report.webhook_deliveries_deleted += deleted;
    if (deleted < CLEANUP_BATCH_ROWS) break;
  }
  // Counts by minute kept in D1 (dead letters: few rows), past what the metrics serve.
  const pruned = await call(() => new D1Metrics(env.DB).pruneMinutes(now - KEPT_MS - MINUTE_MS));
  if (pruned !== null) report.metric_minutes_deleted = pruned;
  log("cleanup", { ...report });
  return report;
}
