import { parseWebhookConfig, type Env, type WebhookConfig } from "../config.js";
import { knownApps } from "../http/known-apps.js";
import { log } from "../log.js";
import { roomOf } from "../shards.js";
import { D1Webhooks, type DeliveryAttempt, type DeliveryTarget } from "../storage/d1-webhooks.js";
import { WebhookDelivery, type WebhookEvent } from "./events.js";
import { openSecret } from "./secrets.js";
import { SIGNATURE_HEADER, signatureHeader } from "./signature.js";

/** Attempts at one delivery; wrangler.toml's `max_retries` for the webhook queue is one less (a test holds them equal). */
export const WEBHOOK_ATTEMPTS = 8;
/** The longest delay the Queue takes for a retry (12 hours; the local Queue's bound, under Cloudflare's 24). */
const MAX_RETRY_DELAY_SECONDS = 43_200;
/**
 * Requests in flight at once: a Worker invocation waits on at most six connections' response headers (more are
 * queued behind them, their timeouts running). https://developers.cloudflare.com/workers/platform/limits/
 */
const SIMULTANEOUS_POSTS = 6;

/** The delay before attempt `attempt + 1`: `base` seconds, four times longer each time, at most 12 hours. */
export function retryDelaySeconds(attempt: number, baseSeconds: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, baseSeconds * 4 ** (attempt - 1));
}

/** What posting one event to one endpoint came to. */
interface Posted {
  status: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * POSTs `event` to `url`, signed with `secret`: a 2xx answer is a delivery; any other answer, a redirect, a
 * refused connection or no answer within the timeout is a failure. The answer's body is not read.
 */
async function post(url: string, secret: string, event: WebhookEvent, timeoutMs: number): Promise<Posted> {
  const body = JSON.stringify(event);
  const started = Date.now();
  // A timer cleared once the answer is in: AbortSignal.timeout's would keep the invocation alive for the whole
  // timeout after a quick answer (workerd#4936), and the local Queue then sends the next batch only after it.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "User-Agent": "Socketpot-Webhooks/1",
        [SIGNATURE_HEADER]: await signatureHeader(secret, Math.floor(started / 1000), body),
      },
      body,
      redirect: "manual",
      signal: timeout.signal,
    });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 300;
    return { status: response.status, error: ok ? null : `HTTP ${response.status}`, durationMs: Date.now() - started };
  } catch (error) {
    return { status: null, error: timeout.signal.aborted ? `no answer within ${timeoutMs} ms` : String(error).slice(0, 200), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The webhook Queue's consumer: each message is one event for one endpoint. It is POSTed, signed, at most
 * {@link SIMULTANEOUS_POSTS} at a time; a failure is retried by the Queue after a growing delay, and after
 * {@link WEBHOOK_ATTEMPTS} attempts goes to the dead-letter queue. Every attempt is recorded (one D1 batch per
 * invocation), and an endpoint that keeps failing is disabled and its app's room told. Per invocation: one POST
 * a message (`max_batch_size`), three D1 queries (the endpoints, the record of attempts, the counts), and a
 * lookup and a call for each endpoint this batch disabled.
 */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  let config: WebhookConfig;
  try {
    config = parseWebhookConfig(env);
  } catch (error) {
    // A deployment fault, not the endpoints': every message waits for it to be mended, none counted against them.
    log("webhook_batch_failed", { messages: batch.messages.length, error: String(error) });
    batch.retryAll({ delaySeconds: retryDelaySeconds(1, 10) });
    return;
  }
  const store = new D1Webhooks(env.DB);
  const deliveries: Array<{ message: Message<unknown>; delivery: WebhookDelivery }> = [];
  for (const message of batch.messages) {
    const parsed = WebhookDelivery.safeParse(message.body);
    if (parsed.success) deliveries.push({ message, delivery: parsed.data });
    else {
      log("malformed_webhook_delivery", { message: message.id });
      message.ack();
    }
  }
  let targets: Map<number, DeliveryTarget>;
  try {
    targets = await store.targets([...new Set(deliveries.map(({ delivery }) => delivery.endpoint_id))]);
  } catch (error) {
    log("webhook_batch_failed", { messages: deliveries.length, error: String(error) });
    for (const { message } of deliveries) message.retry({ delaySeconds: retryDelaySeconds(message.attempts, config.retryBaseSeconds) });
    return;
  }
  const secrets = new Map<number, Promise<string>>();
  const attempts: DeliveryAttempt[] = [];
  let skipped = 0;
  let unopened = 0;
  /** Per app, messages whose last attempt could not be sent (their secret unopened): the Queue dead-letters them. */
  const givenUpUnsent = new Map<number, number>();

  const deliverOne = async ({ message, delivery }: (typeof deliveries)[number]) => {
    const target = targets.get(delivery.endpoint_id);
    // A deleted endpoint (or one of another app: never sent so) gets nothing; a disabled one nothing while it is.
    if (!target || target.appId !== delivery.event.app_id || !target.enabled) {
      skipped += 1;
      message.ack();
      return;
    }
    const secret = await secretOf(delivery.endpoint_id, target, config, secrets).catch(() => null);
    if (secret === null) {
      // WEBHOOK_SECRETS_KEY unset or changed: the deployment's fault, not the endpoint's. Nothing is sent, and the
      // attempt is not counted against the endpoint; it waits, and is logged.
      unopened += 1;
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, config.retryBaseSeconds) });
      if (message.attempts >= WEBHOOK_ATTEMPTS) givenUpUnsent.set(target.appId, (givenUpUnsent.get(target.appId) ?? 0) + 1);
      return;
    }
    const posted = await post(target.url, secret, delivery.event, config.timeoutMs);
    const last = message.attempts >= WEBHOOK_ATTEMPTS;
    const delaySeconds = retryDelaySeconds(message.attempts, config.retryBaseSeconds);
    if (posted.error === null) message.ack();
    else message.retry({ delaySeconds });
    attempts.push({
      appId: target.appId,
      endpointId: delivery.endpoint_id,
      eventId: delivery.event.id,
      type: delivery.event.type,
      attempt: message.attempts,
      ...posted,
      attemptedAt: Date.now() - posted.durationMs,
      nextRetryAt: posted.error === null || last ? null : Date.now() + delaySeconds * 1000,
    });
  };
  const queue = [...deliveries];
  await Promise.all(Array.from({ length: SIMULTANEOUS_POSTS }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await deliverOne(next);
  }));

  const now = Date.now();
  const disabled = await store.record(attempts, { failures: config.disableAfterFailures, afterMs: config.disableAfterMs }, now);
  await store.count(attempts, givenUpUnsent, now).catch((error: unknown) => log("request_failed", { request: "count webhook attempts", error: String(error) }));
  for (const { id, appId } of disabled) {
    log("webhook_endpoint_disabled", { app_id: appId, endpoint_id: id });
    const app = await knownApps.find(env.DB, appId);
    if (app) await roomOf(env, app).webhooksChanged(appId).catch((error: unknown) => log("request_failed", { app_id: appId, request: "webhooks changed", error: String(error) }));
  }
  const failed = attempts.filter((attempt) => attempt.error !== null).length;
  if (unopened > 0) log("webhook_secret_unopened", { messages: unopened, hint: "is WEBHOOK_SECRETS_KEY the key the endpoints' secrets were sealed with?" });
  log("webhook_batch", { messages: batch.messages.length, delivered: attempts.length - failed, failed, skipped, disabled: disabled.length });
}

function secretOf(endpointId: number, target: DeliveryTarget, config: WebhookConfig, secrets: Map<number, Promise<string>>): Promise<string> {
  let secret = secrets.get(endpointId);
  if (!secret) {
    if (!config.secretsKey) return Promise.reject(new Error("WEBHOOK_SECRETS_KEY is not set"));
    secret = openSecret(config.secretsKey, target.appId, target.sealedSecret);
    secrets.set(endpointId, secret);
  }
  return secret;
}
