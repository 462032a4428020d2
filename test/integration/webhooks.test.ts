import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, eventually, next, request, until, type Client } from "../support/clients.js";
import { filesHolding, localSecret, startTestServer, type TestServer } from "../support/server.js";
import { startReceiver, verifySignature, type Received } from "../support/webhook-receiver.js";
import { adminCall } from "../support/http.js";

/**
 * Webhooks end to end: a real server (its rooms, the webhook Queue and its consumer, D1) posting to a real HTTP
 * receiver on the loopback, its deliveries checked as an app's backend would check them.
 */
let server: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let adminToken: string;
let ingestToken: string;

const ALL_TYPES = ["message.created", "message.deleted", "user.joined", "user.left", "user.muted", "user.unmuted", "user.banned", "user.unbanned", "deposit.delivered"];

beforeAll(async () => {
  [adminToken, ingestToken] = await Promise.all([localSecret("ADMIN_TOKEN"), localSecret("INGEST_TOKEN")]);
  receiver = await startReceiver();
  server = await startTestServer({
    ADMIN_TOKEN: adminToken,
    INGEST_TOKEN: ingestToken,
    WEBHOOK_SECRETS_KEY: await localSecret("WEBHOOK_SECRETS_KEY"),
    WEBHOOK_ALLOW_HTTP_LOOPBACK: "true",
    // Retries after 1 s, then 4 s; an endpoint is disabled at its 4th failure in a row; a hung request waits 30 s.
    WEBHOOK_RETRY_BASE_SECONDS: "1",
    WEBHOOK_DISABLE_AFTER_FAILURES: "4",
    WEBHOOK_DISABLE_AFTER_HOURS: "0",
    WEBHOOK_TIMEOUT_MS: "30000",
    CHAT_RATE_BURST: "1000",
  });
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

const call = (method: string, path: string, body?: unknown, token: string = adminToken) => adminCall(server.url, token, method, path, body);

/** A new app, and a function that connects one of its users (issuing a token) and authenticates it. */
async function newApp(name: string) {
  const app = (await call("POST", "/apps", { name })).json!;
  const appId = app["id"] as number;
  const join = async (authId: number, uname: string, role = "MEMBER", subscriptions = ["CHAT"]): Promise<Client> => {
    const token = (await call("POST", `/apps/${appId}/tokens`, { auth_id: authId, uname, role })).json!["token"];
    const socket = await connect(server.url, { appId });
    expect((await request(socket, "auth", { app_id: appId, access_token: token, subscriptions }))[0]).toBeNull();
    return socket;
  };
  return { appId, join };
}

async function addEndpoint(appId: number, url: string, events: string[]) {
  const created = await call("POST", `/apps/${appId}/webhooks`, { url, events });
  expect(created.status).toBe(201);
  return created.json as { id: number; secret: string };
}

const of = (appId: number, path?: string) => receiver.received.filter((each) => each.event.app_id === appId && (path === undefined || each.path === path));
const typesOf = (deliveries: Received[]) => deliveries.map((each) => each.event.type);

describe("webhooks", () => {
  it("manages endpoints: https (or allowed loopback) URLs, known event types, a secret shown once and stored sealed, scopes", async () => {
    const { appId } = await newApp("Hooks admin");
    const created = await call("POST", `/apps/${appId}/webhooks`, { url: receiver.url("ok"), events: ["message.created"] });
    expect(created).toMatchObject({ status: 201, json: { url: receiver.url("ok"), events: ["message.created"], enabled: true, failures: 0, secret: expect.stringMatching(/^whsec_[0-9a-f]{64}$/) } });
    const { id, secret } = created.json as { id: number; secret: string };
    expect(await filesHolding(server, secret)).toEqual([]);

    for (const [body, error] of [
      [{ url: "http://example.com/hook", events: ["user.joined"] }, "INVALID_URL"],
      [{ url: "ftp://127.0.0.1/hook", events: ["user.joined"] }, "INVALID_URL"],
      [{ url: "https://user:pass@example.com/hook", events: ["user.joined"] }, "INVALID_URL"],
      [{ url: "not a url", events: ["user.joined"] }, "INVALID_URL"],
      [{ url: "https://example.com/hook", events: ["chat.spoken"] }, "INVALID_REQUEST"],
      [{ url: "https://example.com/hook", events: [] }, "INVALID_REQUEST"],
      [{ url: "https://example.com/hook", events: ["user.left", "user.left"] }, "INVALID_REQUEST"],
      [{ events: ["user.left"] }, "INVALID_REQUEST"],
    ] as const) {
      expect(await call("POST", `/apps/${appId}/webhooks`, body)).toMatchObject({ status: 400, json: { error } });
    }

    const listed = (await call("GET", `/apps/${appId}/webhooks`)).json!["webhooks"] as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ id, url: receiver.url("ok"), events: ["message.created"] })]);
    expect(listed[0]).not.toHaveProperty("secret");
    expect(await call("PATCH", `/apps/${appId}/webhooks/${id}`, { events: ["user.joined", "user.left"], enabled: false })).toMatchObject({
      status: 200,
      json: { events: ["user.joined", "user.left"], enabled: false, disabled_reason: "disabled by the app" },
    });
    expect(await call("PATCH", `/apps/${appId}/webhooks/${id}`, {})).toMatchObject({ status: 400 });
    expect(await call("PATCH", `/apps/${appId}/webhooks/${id}`, { url: "http://example.com/" })).toMatchObject({ status: 400, json: { error: "INVALID_URL" } });

    // The app's backend manages its own endpoints with a key holding webhooks:write; other keys and apps get 403.
    const manager = (await call("POST", `/apps/${appId}/keys`, { scopes: ["webhooks:write"] })).json!["key"] as string;
    const reader = (await call("POST", `/apps/${appId}/keys`, { scopes: ["messages:read"] })).json!["key"] as string;
    const { appId: otherApp } = await newApp("Hooks other");
    expect((await call("GET", `/apps/${appId}/webhooks`, undefined, manager)).status).toBe(200);
    expect(await call("GET", `/apps/${appId}/webhooks`, undefined, reader)).toMatchObject({ status: 403, json: { error: "INSUFFICIENT_SCOPE", scope: "webhooks:write" } });
    expect((await call("GET", `/apps/${otherApp}/webhooks`, undefined, manager)).status).toBe(403);
    expect(await call("DELETE", `/apps/${otherApp}/webhooks/${id}`)).toMatchObject({ status: 404, json: { error: "UNKNOWN_WEBHOOK" } });

    for (let count = 1; count < 10; count++) await addEndpoint(appId, `https://example.com/${count}`, ["user.joined"]);
    expect(await call("POST", `/apps/${appId}/webhooks`, { url: "https://example.com/11", events: ["user.joined"] }, manager)).toMatchObject({ status: 409, json: { error: "TOO_MANY_WEBHOOKS" } });
    expect((await call("DELETE", `/apps/${appId}/webhooks/${id}`, undefined, manager)).status).toBe(204);
    expect(await call("DELETE", `/apps/${appId}/webhooks/${id}`)).toMatchObject({ status: 404 });
  });

  it("posts one signed delivery for a chat message, presence, a mute and a deposit, each of its type", async () => {
    const { appId, join } = await newApp("Hooks events");
    const { secret } = await addEndpoint(appId, receiver.url("ok"), ALL_TYPES);
    const alice = await join(31, "alice", "MEMBER", ["CHAT", "DEPOSITS"]);
    const mod = await join(32, "mod", "MOD");
    expect((await request(alice, "new_message", { text: "hello hooks" }))[0]).toBeNull();
    expect((await request(mod, "new_message", { text: "/mute alice 5m" }))[0]).toBeNull();
    const deposited = next(alice, "balance_change");
    const posted = await fetch(`${server.url}/v1/apps/${appId}/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ingestToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ id: `hooks-${appId}`, type: "balance_change", auth_id: 31, balance: 900, diff: 400 }),
    });
    expect(posted.status).toBe(202);
    await deposited;
    alice.disconnect();

    const expected = { "user.joined": 2, "message.created": 2, "user.muted": 1, "deposit.delivered": 1, "user.left": 1 };
    await until(() => of(appId).length >= 7);
    // Anything more (a duplicate, another type) would have come with these.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const deliveries = of(appId);
    expect(Object.fromEntries(Object.keys(expected).map((type) => [type, typesOf(deliveries).filter((each) => each === type).length]))).toEqual(expected);
    expect(deliveries).toHaveLength(7);
    for (const delivery of deliveries) {
      expect(verifySignature(delivery.signature, delivery.body, secret)).toBe(true);
      expect(verifySignature(delivery.signature, delivery.body, `${secret}0`)).toBe(false);
      expect(Object.keys(delivery.event).sort()).toEqual(["app_id", "created_at", "data", "id", "type"]);
    }
    const ofType = (type: string) => deliveries.filter((each) => each.event.type === type).map((each) => each.event.data);
    expect(ofType("user.joined")).toEqual(expect.arrayContaining([{ uname: "alice", auth_id: 31, role: "MEMBER" }, { uname: "mod", auth_id: 32, role: "MOD" }]));
    expect(ofType("message.created")).toEqual(expect.arrayContaining([expect.objectContaining({ text: "hello hooks", user: { uname: "alice", auth_id: 31, role: "MEMBER" } })]));
    expect(ofType("user.muted")).toEqual([{ auth_id: 31, uname: "alice", expires_at: expect.any(String), by: "mod" }]);
    expect(ofType("deposit.delivered")).toEqual([{ event_id: `hooks-${appId}`, type: "balance_change", auth_id: 31, balance: 900, diff: 400 }]);
    expect(ofType("user.left")).toEqual([{ uname: "alice", auth_id: 31, role: "MEMBER" }]);
    // Ids are unique, and sort in the order the room made the events.
    const ids = deliveries.map((each) => each.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    const byId = [...deliveries].sort((a, b) => (a.event.id < b.event.id ? -1 : 1)).map((each) => each.event.type);
    expect(byId.indexOf("user.muted")).toBeGreaterThan(byId.indexOf("user.joined"));
    expect(byId.at(-1)).toBe("user.left");
    mod.disconnect();
  });

  it("retries a failed delivery later with the same id, records each attempt, and disables an endpoint that keeps failing", async () => {
    const { appId, join } = await newApp("Hooks retries");
    const flaky = await addEndpoint(appId, receiver.url("fail:2"), ["message.created"]);
    const broken = await addEndpoint(appId, receiver.url("fail:1000"), ["user.joined"]);
    const alice = await join(41, "alice");
    expect((await request(alice, "new_message", { text: "try, try again" }))[0]).toBeNull();

    await until(() => of(appId, "/fail:2").length >= 3, 30_000);
    const attempts = of(appId, "/fail:2");
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((each) => each.event.id)).size).toBe(1);
    for (const attempt of attempts) expect(verifySignature(attempt.signature, attempt.body, flaky.secret)).toBe(true);
    // The consumer records the last attempt just after the receiver answered it.
    const recorded = await eventually(
      async () => (await call("GET", `/apps/${appId}/webhooks/${flaky.id}/deliveries`)).json!["deliveries"] as Array<Record<string, unknown>>,
      (deliveries) => deliveries.length >= 3,
      5_000,
    );
    expect(recorded).toEqual([
      expect.objectContaining({ event_id: attempts[0]!.event.id, type: "message.created", attempt: 3, status: 204, error: null, next_retry_at: null }),
      expect.objectContaining({ attempt: 2, status: 500, error: "HTTP 500", next_retry_at: expect.any(String) }),
      expect.objectContaining({ attempt: 1, status: 500, error: "HTTP 500", next_retry_at: expect.any(String) }),
    ]);
    expect(recorded[2]!["duration_ms"]).toEqual(expect.any(Number));

    // Four users joining fail four times in a row at the broken endpoint: it is disabled, and the app can see it.
    for (const [authId, uname] of [[42, "bob"], [43, "carol"], [44, "dave"]] as const) (await join(authId, uname)).disconnect();
    const endpoint = await eventually(
      async () => ((await call("GET", `/apps/${appId}/webhooks`)).json!["webhooks"] as Array<Record<string, unknown>>).find((each) => each["id"] === broken.id),
      (listed) => listed?.["enabled"] === false,
      20_000,
    );
    expect(endpoint).toMatchObject({ enabled: false, disabled_at: expect.any(String), disabled_reason: "disabled after 4 failed attempts in a row" });
    expect(await call("PATCH", `/apps/${appId}/webhooks/${broken.id}`, { enabled: true })).toMatchObject({ status: 200, json: { enabled: true, failures: 0, disabled_at: null, disabled_reason: null } });
    alice.disconnect();
  });

  it("signs with a rotated secret from then on", async () => {
    const { appId, join } = await newApp("Hooks rotation");
    const endpoint = await addEndpoint(appId, receiver.url("ok"), ["message.created"]);
    const rotated = await call("POST", `/apps/${appId}/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated).toMatchObject({ status: 200, json: { id: endpoint.id, secret: expect.stringMatching(/^whsec_/) } });
    const secret = rotated.json!["secret"] as string;
    expect(secret).not.toBe(endpoint.secret);
    const alice = await join(51, "alice");
    expect((await request(alice, "new_message", { text: "after the rotation" }))[0]).toBeNull();
    await until(() => of(appId).length >= 1);
    const [delivery] = of(appId);
    expect(verifySignature(delivery!.signature, delivery!.body, secret)).toBe(true);
    expect(verifySignature(delivery!.signature, delivery!.body, endpoint.secret)).toBe(false);
    // The app's metrics count the delivery (the consumer records it just after the receiver answered).
    const counted = await eventually(
      async () => {
        const series = (await call("GET", `/apps/${appId}/metrics`)).json!["series"] as Array<Record<string, number>>;
        return { delivered: series.reduce((sum, minute) => sum + minute["webhook_deliveries"]!, 0), failed: series.reduce((sum, minute) => sum + minute["webhook_failures"]!, 0) };
      },
      (counts) => counts.delivered > 0,
      5_000,
    );
    expect(counted).toEqual({ delivered: 1, failed: 0 });
    alice.disconnect();
  });

  it("keeps chat flowing to sockets while an endpoint hangs on its deliveries", async () => {
    const { appId, join } = await newApp("Hooks hanging");
    await addEndpoint(appId, receiver.url("hang"), ["message.created"]);
    const [sender, listener] = [await join(61, "sender"), await join(62, "listener")];
    const heard: string[] = [];
    listener.on("new_message", (message: { text: string }) => heard.push(message.text));
    expect((await request(sender, "new_message", { text: "first" }))[0]).toBeNull();
    await until(() => receiver.hanging() > 0);
    for (let index = 0; index < 20; index++) expect((await request(sender, "new_message", { text: `while hanging ${index}` }))[0]).toBeNull();
    await until(() => heard.length === 21);
    // Every message reached the listener while the endpoint still held its first delivery unanswered.
    expect(receiver.hanging()).toBeGreaterThan(0);
    for (const socket of [sender, listener]) socket.disconnect();
  });
});
