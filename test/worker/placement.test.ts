import { SELF, createExecutionContext, createMessageBatch, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.js";
import type { Env } from "../../src/config.js";

const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
  SELF.fetch(`http://edge.test/v1/admin${path}`, {
    method: init.method ?? "GET",
    headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });

interface Taken {
  binding: "ROOMS" | "SHARDS";
  jurisdiction: string | null;
  name: string | undefined;
  locationHint: string | null;
}

/**
 * The Worker's bindings, with each Durable Object namespace recording the jurisdiction and location hint every
 * stub is taken with. Local workerd implements no jurisdiction (it throws on `jurisdiction()`), so the
 * recording namespace hands out the unrestricted namespace's objects: the objects are real, the jurisdiction is
 * what is recorded.
 */
function recordingEnv() {
  const taken: Taken[] = [];
  const recording = (binding: Taken["binding"], real: DurableObjectNamespace, jurisdiction: string | null): DurableObjectNamespace =>
    ({
      jurisdiction: (next: string) => recording(binding, real, next),
      idFromName: (name: string) => real.idFromName(name),
      idFromString: (id: string) => real.idFromString(id),
      get: (id: DurableObjectId, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
        taken.push({ binding, jurisdiction, name: id.name, locationHint: options?.locationHint ?? null });
        return real.get(id, options);
      },
    }) as unknown as DurableObjectNamespace;
  const placed = {
    ...env,
    ROOMS: recording("ROOMS", env.ROOMS as unknown as DurableObjectNamespace, null),
    SHARDS: recording("SHARDS", env.SHARDS as unknown as DurableObjectNamespace, null),
  } as unknown as Env;
  return { env: placed, taken };
}

async function createApp(body: Record<string, unknown>): Promise<Record<string, unknown> & { id: number }> {
  const response = await admin("/apps", { method: "POST", body: { name: "Placed", ...body } });
  expect(response.status).toBe(201);
  return response.json();
}

async function fetchWith(placed: Env, url: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(url, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` }, ...init }), placed, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("an app's placement", () => {
  it("is set when the app is created: its jurisdiction for good, its location hint until changed", async () => {
    const app = await createApp({ jurisdiction: "eu", location_hint: "weur" });
    expect(app).toMatchObject({ jurisdiction: "eu", location_hint: "weur" });
    expect(await createApp({})).toMatchObject({ jurisdiction: null, location_hint: null });

    const moved = await admin(`/apps/${app.id}`, { method: "PATCH", body: { location_hint: "enam" } });
    expect(await moved.json()).toMatchObject({ jurisdiction: "eu", location_hint: "enam" });
    const cleared = await admin(`/apps/${app.id}`, { method: "PATCH", body: { location_hint: null } });
    expect(await cleared.json()).toMatchObject({ jurisdiction: "eu", location_hint: null });

    const refused = await admin(`/apps/${app.id}`, { method: "PATCH", body: { jurisdiction: "fedramp" } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "INVALID_REQUEST", message: expect.stringContaining("jurisdiction cannot change") });
    for (const body of [{ jurisdiction: "mars" }, { location_hint: "moon" }, { jurisdiction: 1 }]) {
      const invalid = await admin("/apps", { method: "POST", body: { name: "Nowhere", ...body } });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toMatchObject({ error: "INVALID_REQUEST", message: expect.stringMatching(/jurisdiction is one of|location_hint is one of/) });
    }
  });

  it("places the room and every shard the Worker reaches, on every path: connections, the admin API, the Queue, the clean-up", async () => {
    const single = await createApp({ jurisdiction: "eu", location_hint: "weur", retention_days: 1 });
    const sharded = await createApp({ jurisdiction: "fedramp", location_hint: "enam" });
    expect((await admin(`/apps/${sharded.id}`, { method: "PATCH", body: { shards: 3 } })).status).toBe(200);
    const { env: placed, taken } = recordingEnv();

    // A new connection, then a packet it sends, on a one-object app and on a sharded one.
    for (const app of [single, sharded]) {
      const opened = await fetchWith(placed, `http://edge.test/socket.io/?EIO=4&transport=polling&app_id=${app.id}`);
      expect(opened.status).toBe(200);
      const { sid } = JSON.parse((await opened.text()).slice(1)) as { sid: string };
      const sent = await fetchWith(placed, `http://edge.test/socket.io/?EIO=4&transport=polling&app_id=${app.id}&sid=${encodeURIComponent(sid)}`, { method: "POST", body: "40" });
      expect(await sent.text()).toBe("ok");
    }
    expect((await fetchWith(placed, `http://edge.test/v1/admin/apps/${single.id}/stats`)).status).toBe(200);

    const batch = createMessageBatch("socketpot-events", [
      { id: "placed-1", timestamp: new Date(), attempts: 1, body: { id: "placed-1", app_id: single.id, type: "balance_change", auth_id: 3, balance: 1, diff: 1 } },
    ]);
    const queueCtx = createExecutionContext();
    await (worker.queue as ExportedHandlerQueueHandler<Env>)(batch, placed, queueCtx);
    await waitOnExecutionContext(queueCtx);

    await env.DB.prepare("INSERT INTO messages (app_id, channel, text, created_at) VALUES (?1, 'lobby', 'old', 0)").bind(single.id).run();
    const cronCtx = createExecutionContext();
    await (worker.scheduled as ExportedHandlerScheduledHandler<Env>)(createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }), placed, cronCtx);
    await waitOnExecutionContext(cronCtx);

    const ofApp = (id: number) => taken.filter((stub) => stub.name?.startsWith(`app:${id}`));
    // Every stub of the one-object app: its room, in the EU, created near western Europe.
    expect(ofApp(single.id).length).toBeGreaterThanOrEqual(5);
    for (const stub of ofApp(single.id)) expect(stub).toEqual({ binding: "ROOMS", jurisdiction: "eu", name: `app:${single.id}`, locationHint: "weur" });
    // Every stub of the sharded app: its shards, in FedRAMP, created near eastern North America.
    expect(ofApp(sharded.id).length).toBeGreaterThanOrEqual(2);
    for (const stub of ofApp(sharded.id)) expect(stub).toMatchObject({ binding: "SHARDS", jurisdiction: "fedramp", locationHint: "enam" });
    expect(taken.filter((stub) => !stub.name?.startsWith(`app:${single.id}`) && !stub.name?.startsWith(`app:${sharded.id}`))).toEqual([]);
  });
});
