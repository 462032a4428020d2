import { SELF, createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.js";
import { CLEANUP_BATCH_ROWS, cleanUp } from "../../src/maintenance/cleanup.js";
import type { Env } from "../../src/config.js";
import { meteredD1 } from "./metered-d1.js";
import { openSocket } from "./room-socket.js";

const DAY = 86_400_000;
const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
  SELF.fetch(`http://edge.test/v1/admin${path}`, {
    method: init.method ?? "GET",
    headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });

async function createApp(body: Record<string, unknown>): Promise<{ id: number; retention_days: number }> {
  const response = await admin("/apps", { method: "POST", body: { name: "Retained", ...body } });
  expect(response.status).toBe(201);
  return response.json();
}

/** `count` messages of `appId` written `ageMs` ago, in id order oldest first like a room writes them. */
async function messages(appId: number, count: number, ageMs: number, now: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const statements = Array.from({ length: Math.min(500, count - start) }, (_, i) =>
      env.DB.prepare("INSERT INTO messages (app_id, channel, text, created_at) VALUES (?1, 'lobby', ?2, ?3)").bind(appId, `m${start + i}`, now - ageMs + start + i),
    );
    await env.DB.batch(statements);
  }
}

const stored = async (appId: number) => {
  const response = await admin(`/apps/${appId}/storage`);
  expect(response.status).toBe(200);
  return (await response.json()) as { messages: number; oldest_message_at: string | null; retention_days: number };
};

describe("message retention and the scheduled clean-up", () => {
  it("takes retention_days through the admin API: set, shown, validated, and reset to the default with null", async () => {
    const app = await createApp({ retention_days: 7 });
    expect(app.retention_days).toBe(7);
    for (const bad of [0, 3651, 1.5, "7"]) {
      const refused = await admin(`/apps/${app.id}`, { method: "PATCH", body: { retention_days: bad } });
      expect(refused.status, String(bad)).toBe(400);
      expect(await refused.json()).toMatchObject({ error: "INVALID_REQUEST", message: expect.stringMatching(/retention_days/) });
    }
    const changed = await admin(`/apps/${app.id}`, { method: "PATCH", body: { retention_days: 30 } });
    expect(await changed.json()).toMatchObject({ retention_days: 30 });
    // Another change leaves it as it is; null hands it back to MESSAGE_RETENTION_DAYS (90 in wrangler.toml).
    expect(await (await admin(`/apps/${app.id}`, { method: "PATCH", body: { name: "Renamed" } })).json()).toMatchObject({ retention_days: 30 });
    expect(await (await admin(`/apps/${app.id}`, { method: "PATCH", body: { retention_days: null } })).json()).toMatchObject({ retention_days: 90 });
    expect((await stored(app.id)).retention_days).toBe(90);
  });

  it("deletes each app's messages past its retention, and expired mutes, when the Cron Trigger runs", async () => {
    const now = Date.now();
    const short = await createApp({ retention_days: 1 });
    const usual = await createApp({});
    await messages(short.id, 2_300, 2 * DAY, now);
    await messages(short.id, 10, DAY / 2, now);
    await messages(usual.id, 50, 100 * DAY, now);
    await messages(usual.id, 20, 30 * DAY, now);
    await env.DB.batch([
      env.DB.prepare("INSERT INTO mutes VALUES (?1, 1, 'gone', 'mod', ?2, ?3)").bind(short.id, now - DAY, now - 1),
      env.DB.prepare("INSERT INTO mutes VALUES (?1, 2, 'still', 'mod', ?2, ?3)").bind(short.id, now - DAY, now + DAY),
    ]);
    expect((await stored(short.id)).messages).toBe(2_310);

    // A running room holds the old messages in the history it gives new clients.
    const watcher = await openSocket(short.id);
    const before = (await watcher.request(1, "auth", { app_id: short.id, subscriptions: ["CHAT"] }))[1] as { chat: { messages: unknown[] } };
    expect(before.chat.messages.length).toBeGreaterThan(10);

    // The Worker's scheduled handler, as the Cron Trigger calls it.
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(now), cron: "*/10 * * * *" }), env);

    expect(await stored(short.id)).toMatchObject({ messages: 10, oldest_message_at: new Date(now - DAY / 2).toISOString() });
    expect((await stored(usual.id)).messages).toBe(20);
    const mutes = await env.DB.prepare("SELECT auth_id FROM mutes WHERE app_id = ?1").bind(short.id).all();
    expect(mutes.results).toEqual([{ auth_id: 2 }]);
    // The room dropped them from its history: a client arriving now gets only what storage still has.
    const late = await openSocket(short.id);
    const after = (await late.request(1, "auth", { app_id: short.id, subscriptions: ["CHAT"] }))[1] as { chat: { messages: Array<{ text: string }> } };
    expect(after.chat.messages.map((message) => message.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    await Promise.all([watcher.close(), late.close()]);
  });

  it("stays within its allowance of calls, a bounded number of rows each, and the next run goes on where it stopped", async () => {
    const now = Date.now();
    const apps = [await createApp({ retention_days: 1 }), await createApp({ retention_days: 1 })];
    for (const app of apps) await messages(app.id, 2_500, 3 * DAY, now);
    // Newer messages behind the expired ones, which no statement may read through.
    await messages(apps[0]!.id, 6_000, DAY / 2, now);
    const { db, reads } = meteredD1(env.DB);
    const metered = { ...env, DB: db } as Env;

    // One call for the mutes, one for the apps with expired messages, then batches while the allowance keeps
    // room to tell every room deleted from: with 4, one batch and its room; with 6, a batch each and both rooms.
    const first = await cleanUp(metered, now, 4);
    expect(first).toMatchObject({ calls: 4, unfinished: true, messages_deleted: CLEANUP_BATCH_ROWS, rooms_told: 1 });
    const second = await cleanUp(metered, now, 6);
    expect(second).toMatchObject({ calls: 6, unfinished: true, messages_deleted: 2 * CLEANUP_BATCH_ROWS, rooms_told: 2 });
    expect((await stored(apps[0]!.id)).messages).toBe(6_500);
    expect((await stored(apps[1]!.id)).messages).toBe(1_500);

    reads.length = 0;
    const rest = await cleanUp(metered, now);
    expect(rest).toMatchObject({ unfinished: false, messages_deleted: 2_000, rooms_told: 2 });
    expect((await stored(apps[0]!.id)).messages).toBe(6_000);
    expect((await stored(apps[1]!.id)).messages).toBe(0);
    // A deletion of 1,000 rows reads about 4,000 (measured: the index, the rows, and both again to delete them),
    // the search two rows an app: bounded by the batch, never by an app's history (6,000 rows here).
    expect(reads.length).toBeGreaterThan(3);
    expect(Math.max(...reads)).toBeLessThanOrEqual(4 * CLEANUP_BATCH_ROWS);
  });
});
