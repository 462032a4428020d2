import type { Env } from "../config.js";
import { knownApps } from "../http/known-apps.js";
import { roomOf } from "../shards.js";
import { log } from "../log.js";
import { D1Metrics } from "../storage/d1-metrics.js";
import { AppEvent } from "./events.js";

/** Retries of an event batch; wrangler.toml's `max_retries` for the events queue (a test holds them equal). */
export const EVENT_RETRIES = 5;

/**
 * The Queue consumer: each message is parsed with zod; valid events are grouped by app and handed to each
 * app's Durable Object in one call. A malformed message is acknowledged (it would never parse on a retry),
 * logged with its id and counted; when an app's delivery fails, only that app's messages are retried.
 */
export async function consumeEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byApp = new Map<number, Array<{ message: Message<unknown>; event: AppEvent }>>();
  let malformed = 0;
  for (const message of batch.messages) {
    const parsed = AppEvent.safeParse(message.body);
    if (!parsed.success) {
      malformed += 1;
      log("malformed_event", { id: idOf(message.body), issues: parsed.error.issues.map((issue) => issue.message) });
      message.ack();
      continue;
    }
    const group = byApp.get(parsed.data.app_id) ?? [];
    group.push({ message, event: parsed.data });
    byApp.set(parsed.data.app_id, group);
  }

  let failed = 0;
  await Promise.all(
    [...byApp].map(async ([appId, entries]) => {
      let app: Awaited<ReturnType<typeof knownApps.find>> = null;
      try {
        // The app's row says where its room lives. An app not found (created a moment ago in another isolate,
        // or never) is retried: the Queue gives up on it after its retries, and no room is created for it.
        app = await knownApps.find(env.DB, appId);
        if (!app) throw new Error(`there is no app with id ${appId}`);
        await roomOf(env, app).deliver(entries.map((entry) => entry.event));
        for (const { message } of entries) message.ack();
      } catch (error) {
        failed += entries.length;
        log("event_delivery_failed", { app_id: appId, count: entries.length, error: String(error) });
        for (const { message } of entries) message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
        // Those past their retries go to the dead-letter queue: an app's metrics count them (an id that names no
        // app has no metrics to count them in).
        const given = entries.filter(({ message }) => message.attempts > EVENT_RETRIES).length;
        if (given > 0 && app) await countDeadLetters(env, appId, given);
      }
    }),
  );
  log("event_batch", { queue: batch.queue, messages: batch.messages.length, malformed, retried: failed });
}

async function countDeadLetters(env: Env, appId: number, count: number): Promise<void> {
  log("events_dead_lettered", { app_id: appId, count });
  await env.DB.batch(new D1Metrics(env.DB).countStatements(appId, "queue:events", { dead_lettered: count }, Date.now())).catch((error: unknown) =>
    log("request_failed", { app_id: appId, request: "count dead letters", error: String(error) }),
  );
}

function idOf(body: unknown): string | null {
  return typeof body === "object" && body !== null && "id" in body && typeof body.id === "string" ? body.id.slice(0, 128) : null;
}
