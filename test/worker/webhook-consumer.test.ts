import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp } from "../../src/maintenance/cleanup.js";
import { D1Webhooks } from "../../src/storage/d1-webhooks.js";
import { consumeWebhooks } from "../../src/webhooks/consumer.js";
import { WEBHOOK_QUEUE } from "../../src/webhooks/outbox.js";
import type { WebhookDelivery } from "../../src/webhooks/events.js";
import { sealSecret } from "../../src/webhooks/secrets.js";

/** The real database, counting the queries made through it (each is a subrequest of the invocation). */
function countedD1(db: D1Database): { db: D1Database; queries: () => number } {
  let queries = 0;
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      first: (...args: []) => ((queries += 1), statement.first(...args)),
      all: () => ((queries += 1), statement.all()),
      run: () => ((queries += 1), statement.run()),
      raw: () => ((queries += 1), statement.raw()),
    } as unknown as D1PreparedStatement;
    real.set(wrapped, statement);
    return wrapped;
  };
  const counted = {
    prepare: (query: string) => wrap(db.prepare(query)),
    batch: (statements: D1PreparedStatement[]) => ((queries += 1), db.batch(statements.map((statement) => real.get(statement) ?? statement))),
  } as unknown as D1Database;
  return { db: counted, queries: () => queries };
}

function batchOf(deliveries: WebhookDelivery[]) {
  const messages = deliveries.map((body, index) => ({ id: `m${index}`, timestamp: new Date(), body, attempts: 1, ack: vi.fn(), retry: vi.fn() }));
  return { batch: { queue: WEBHOOK_QUEUE, messages, ackAll: vi.fn(), retryAll: vi.fn() } as unknown as MessageBatch<unknown>, messages };
}

afterEach(() => vi.restoreAllMocks());

describe("the webhook consumer", () => {
  it("makes one POST a message and three D1 queries an invocation, however many endpoints a full batch names", async () => {
    const store = new D1Webhooks(env.DB);
    const key = "test-webhook-secrets-key-0123456789";
    // 25 endpoints (a full batch, wrangler.toml's max_batch_size), on a port where nothing listens.
    const endpoints = [];
    for (let index = 0; index < 25; index++) {
      endpoints.push((await store.create(1, `http://127.0.0.1:9/${index}`, ["user.joined"], await sealSecret(key, 1, `whsec_${index}`), 1_000, 100))!);
    }
    const { batch, messages } = batchOf(
      endpoints.map((endpoint, index) => ({
        endpoint_id: endpoint.id,
        event: { id: `evt_${String(index).padStart(24, "0")}`, type: "user.joined", app_id: 1, created_at: new Date(0).toISOString(), data: { uname: "a" } },
      })),
    );
    // The real fetch, watched: how many requests, and how many at once.
    const realFetch = globalThis.fetch;
    let [inFlight, mostInFlight] = [0, 0];
    const posts = vi.spyOn(globalThis, "fetch").mockImplementation(async (...args) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await realFetch(...args);
      } finally {
        inFlight -= 1;
      }
    });
    const { db, queries } = countedD1(env.DB);
    await consumeWebhooks(batch, { ...env, DB: db, WEBHOOK_SECRETS_KEY: key });
    expect(posts).toHaveBeenCalledTimes(25);
    expect(mostInFlight).toBe(6);
    // The endpoints read, the attempts recorded, and the apps' counts added (apart, so that a failed count loses no record).
    expect(queries()).toBe(3);
    // Each failed (nothing listens): retried later, and recorded.
    expect(messages.every((message) => message.retry.mock.calls.length === 1 && message.ack.mock.calls.length === 0)).toBe(true);
    expect(await store.deliveries(endpoints[0]!.id, 10)).toEqual([expect.objectContaining({ attempt: 1, status: null, next_retry_at: expect.any(String) })]);
  });

  it("acknowledges, without a POST, deliveries for an endpoint that was deleted, disabled or is another app's, and malformed messages", async () => {
    const store = new D1Webhooks(env.DB);
    const key = "test-webhook-secrets-key-0123456789";
    const disabled = (await store.create(1, "https://example.com/off", ["user.left"], await sealSecret(key, 1, "whsec_x"), 1_000, 100))!;
    await store.update(1, disabled.id, { enabled: false }, 2_000);
    const event = { id: "evt_000000000000000000000001", type: "user.left", app_id: 1, created_at: new Date(0).toISOString(), data: { uname: "a" } } as const;
    const { batch, messages } = batchOf([
      { endpoint_id: disabled.id, event },
      { endpoint_id: 999_999, event },
      { endpoint_id: disabled.id, event: { ...event, app_id: 2 } },
      { nonsense: true } as unknown as WebhookDelivery,
    ]);
    const posts = vi.spyOn(globalThis, "fetch");
    await consumeWebhooks(batch, { ...env, WEBHOOK_SECRETS_KEY: key });
    expect(posts).not.toHaveBeenCalled();
    expect(messages.map((message) => [message.ack.mock.calls.length, message.retry.mock.calls.length])).toEqual([[1, 0], [1, 0], [1, 0], [1, 0]]);
  });

  it("keeps the record of delivery attempts a week: the clean-up deletes older ones", async () => {
    const now = Date.parse("2026-12-01T00:00:00Z");
    const store = new D1Webhooks(env.DB);
    const endpoint = (await store.create(1, "https://example.com/kept", ["user.left"], "v1.x.y", now, 100))!;
    const attempt = (eventId: string, attemptedAt: number) => ({ appId: 1, endpointId: endpoint.id, eventId, type: "user.left" as const, attempt: 1, status: 204, error: null, durationMs: 5, attemptedAt, nextRetryAt: null });
    await store.record([attempt("old", now - 8 * 86_400_000), attempt("recent", now - 6 * 86_400_000)], { failures: 20, afterMs: 0 }, now);
    const report = await cleanUp(env, now);
    expect(report.webhook_deliveries_deleted).toBe(1);
    expect((await store.deliveries(endpoint.id, 10)).map((delivery) => delivery.event_id)).toEqual(["recent"]);
  });

  it("waits, retrying every message later, when D1 cannot be read: no attempt made, none counted against an endpoint", async () => {
    const event = { id: "evt_000000000000000000000002", type: "user.left", app_id: 1, created_at: new Date(0).toISOString(), data: { uname: "a" } } as const;
    const { batch, messages } = batchOf([{ endpoint_id: 1, event }, { endpoint_id: 2, event }]);
    const unreachable = { prepare: () => ({ bind: () => ({ all: () => Promise.reject(new Error("D1 unavailable")) }) }) } as unknown as D1Database;
    const posts = vi.spyOn(globalThis, "fetch");
    await consumeWebhooks(batch, { ...env, DB: unreachable, WEBHOOK_SECRETS_KEY: "test-webhook-secrets-key-0123456789" });
    expect(posts).not.toHaveBeenCalled();
    expect(messages.map((message) => [message.ack.mock.calls.length, message.retry.mock.calls])).toEqual([
      [0, [[{ delaySeconds: 10 }]]],
      [0, [[{ delaySeconds: 10 }]]],
    ]);
  });
});
