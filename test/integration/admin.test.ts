import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, eventually, join, next, pause, record, request, until } from "../support/clients.js";
import { PlainClient } from "../support/plain-client.js";
import { filesHolding, localSecret, startTestServer, TEST_SHARDS, untilConnections, type TestServer } from "../support/server.js";
import { adminCall } from "../support/http.js";

/** The operator's admin API against a real server, its effects observed by real clients. */
let server: TestServer;
let adminToken: string;
let ingestToken: string;

beforeAll(async () => {
  [adminToken, ingestToken] = await Promise.all([localSecret("ADMIN_TOKEN"), localSecret("INGEST_TOKEN")]);
  // Objects export their metrics for scrapes every second instead of every minute.
  server = await startTestServer({ ADMIN_TOKEN: adminToken, INGEST_TOKEN: ingestToken, CHAT_RATE_BURST: "1000", METRICS_EXPORT_SECONDS: "1" });
});

afterAll(async () => {
  await server?.stop();
});

const call = (method: string, path: string, body?: unknown, token: string | null = adminToken) => adminCall(server.url, token, method, path, body);

/** Posts one deposit for `appId` to the ingest endpoint with `bearer`. */
async function postEvent(appId: number, bearer: string) {
  const response = await fetch(`${server.url}/v1/apps/${appId}/events`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ id: `admin-test-${crypto.randomUUID()}`, type: "balance_change", auth_id: 3, balance: 10, diff: 10 }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

describe("admin API", () => {
  it("refuses requests without the admin token", async () => {
    expect((await call("GET", "/apps", undefined, null)).status).toBe(401);
    expect(await call("GET", "/apps", undefined, "wrong")).toMatchObject({ status: 401, json: { error: "UNAUTHORIZED" } });
  });

  it("creates and lists apps, with validation and pagination", async () => {
    const created = await call("POST", "/apps", { name: "Dice", allowed_origins: ["https://dice.example"] });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ id: expect.any(Number), name: "Dice", allowed_origins: ["https://dice.example"] });
    expect((await call("POST", "/apps", { name: "" })).status).toBe(400);
    const badOrigin = await call("POST", "/apps", { name: "X", allowed_origins: ["https://dice.example/path"] });
    expect(badOrigin).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST" } });

    const first = await call("GET", "/apps?limit=1");
    expect(first.json?.["apps"]).toHaveLength(1);
    expect(first.json?.["next_after"]).toBe(1);
    const rest = await call("GET", `/apps?limit=100&after=${first.json?.["next_after"]}`);
    expect(rest.json?.["apps"].map((app: { name: string }) => app.name)).toContain("Dice");
    expect(rest.json?.["next_after"]).toBeNull();
  });

  it("issues tokens that authenticate, lists them without the token, and revokes them by id", async () => {
    const app = (await call("POST", "/apps", { name: "Tokens" })).json!;
    const issued = await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 77, uname: "kate", role: "MOD", expires_at: "2099-01-01T00:00:00Z" });
    expect(issued.status).toBe(201);
    expect(issued.json).toMatchObject({ id: expect.any(Number), auth_id: 77, uname: "kate", role: "MOD", expires_at: "2099-01-01T00:00:00.000Z", revoked_at: null });
    const token = issued.json!["token"] as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(issued.json!["prefix"]).toBe(token.slice(0, 8));
    expect((await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 1, uname: "x y", role: "MEMBER" })).status).toBe(400);
    expect((await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 1, uname: "x", role: "ADMIN" })).status).toBe(400);

    const socket = await connect(server.url, { appId: app["id"] });
    const [, response] = await request(socket, "auth", { app_id: app["id"], access_token: token.toUpperCase(), subscriptions: ["CHAT"] });
    expect(response).toMatchObject({ user: { uname: "kate", auth_id: 77, role: "MOD" } });
    socket.disconnect();

    const listed = await call("GET", `/apps/${app["id"]}/tokens?auth_id=77`);
    const { token: _, ...view } = issued.json!;
    expect(listed.json).toEqual({ tokens: [view], next_after: null });
    expect(JSON.stringify((await call("GET", `/apps/${app["id"]}/tokens`)).json)).not.toContain(token.slice(8));
    expect(await call("DELETE", `/apps/${app["id"]}/tokens/${token}`)).toMatchObject({ status: 400, json: { error: "INVALID_TOKEN_ID" } });
    expect(await call("DELETE", `/apps/1/tokens/${issued.json!["id"]}`)).toEqual({ status: 404, json: { error: "UNKNOWN_TOKEN", message: "this app has no such token" } });
    expect((await call("DELETE", `/apps/${app["id"]}/tokens/${issued.json!["id"]}`)).status).toBe(204);
    expect((await call("GET", `/apps/${app["id"]}/tokens`)).json?.["tokens"][0]).toMatchObject({ revoked_at: expect.any(String) });
    // The room had the token's lookup cached: revocation reaches it at once.
    const again = await connect(server.url, { appId: app["id"] });
    const [error, anonymous] = await request(again, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] });
    expect(error).toBeNull();
    expect(anonymous).toMatchObject({ subscriptions: ["CHAT"] });
    expect(anonymous).not.toHaveProperty("user");
    again.disconnect();
  });

  it("issues per-app keys: shown once, good for their own app only, dead once revoked; without a body they post events", async () => {
    const app = (await call("POST", "/apps", { name: "Keys" })).json!;
    const issued = await call("POST", `/apps/${app["id"]}/keys`);
    expect(issued).toMatchObject({ status: 201, json: { id: expect.any(Number), key: expect.stringMatching(/^spk_[0-9a-f]{32}$/), scopes: ["events:write"], created_at: expect.any(String) } });
    const key = issued.json!["key"] as string;
    expect(Object.keys(issued.json!).sort()).toEqual(["created_at", "id", "key", "prefix", "revoked_at", "scopes"]);

    expect(await postEvent(app["id"], key)).toMatchObject({ status: 202, json: { accepted: [expect.any(String)] } });
    expect(await postEvent(1, key)).toMatchObject({ status: 403, json: { error: "FORBIDDEN" } });
    expect((await postEvent(app["id"], ingestToken)).status).toBe(202);
    expect((await postEvent(app["id"], `spk_${"0".repeat(32)}`)).status).toBe(401);

    const listed = await call("GET", `/apps/${app["id"]}/keys`);
    expect(listed.json).toEqual({ keys: [{ id: issued.json!["id"], prefix: key.slice(0, 8), scopes: ["events:write"], created_at: issued.json!["created_at"], revoked_at: null }], next_after: null });
    expect(await call("DELETE", `/apps/1/keys/${issued.json!["id"]}`)).toEqual({ status: 404, json: { error: "UNKNOWN_KEY", message: "this app has no such key" } });
    expect((await call("DELETE", `/apps/${app["id"]}/keys/${issued.json!["id"]}`)).status).toBe(204);
    expect(await postEvent(app["id"], key)).toMatchObject({ status: 401, json: { error: "UNAUTHORIZED" } });
    expect((await postEvent(app["id"], ingestToken)).status).toBe(202);
  });

  it("lets an app key call its own app's operations within its scopes, and nothing else", async () => {
    const app = (await call("POST", "/apps", { name: "Scoped" })).json!;
    const other = (await call("POST", "/apps", { name: "Elsewhere" })).json!;
    const issue = async (scopes: string[]) => (await call("POST", `/apps/${app["id"]}/keys`, { scopes })).json!["key"] as string;
    const reader = await issue(["stats:read", "messages:read"]);
    const staff = await issue(["tokens:write", "moderation:write"]);
    const all = await issue(["events:write", "tokens:write", "messages:read", "messages:write", "moderation:write", "stats:read"]);

    // Within its scopes, for its own app: served as for the operator.
    expect((await call("GET", `/apps/${app["id"]}/stats`, undefined, reader)).status).toBe(200);
    expect((await call("GET", `/apps/${app["id"]}/storage`, undefined, reader)).status).toBe(200);
    expect((await call("GET", `/apps/${app["id"]}/messages`, undefined, reader)).status).toBe(200);
    const token = await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 5, uname: "eve", role: "MEMBER" }, staff);
    expect(token.status).toBe(201);
    expect((await call("GET", `/apps/${app["id"]}/tokens`, undefined, staff)).json!["tokens"]).toHaveLength(1);
    expect((await call("DELETE", `/apps/${app["id"]}/tokens/${token.json!["id"]}`, undefined, staff)).status).toBe(204);
    expect(await call("DELETE", `/apps/${app["id"]}/mutes/5`, undefined, staff)).toMatchObject({ status: 404, json: { error: "NOT_MUTED" } });
    expect((await call("GET", `/apps/${app["id"]}/mutes`, undefined, staff)).status).toBe(200);
    expect((await postEvent(app["id"], all)).status).toBe(202);

    // A scope it lacks: 403 naming the scope.
    expect(await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 6, uname: "mallory", role: "OWNER" }, reader)).toEqual({
      status: 403,
      json: { error: "INSUFFICIENT_SCOPE", scope: "tokens:write", message: "this operation needs a key with the scope tokens:write" },
    });
    expect(await call("GET", `/apps/${app["id"]}/stats`, undefined, staff)).toMatchObject({ status: 403, json: { error: "INSUFFICIENT_SCOPE", scope: "stats:read" } });
    expect(await call("DELETE", `/apps/${app["id"]}/messages/1`, undefined, reader)).toMatchObject({ status: 403, json: { scope: "moderation:write" } });
    expect(await postEvent(app["id"], reader)).toMatchObject({ status: 403, json: { error: "INSUFFICIENT_SCOPE", scope: "events:write" } });

    // Another app, even one that does not exist: 403, whatever the scope.
    for (const path of [`/apps/${other["id"]}/stats`, `/apps/${other["id"]}/messages`, "/apps/999999/stats"]) {
      expect(await call("GET", path, undefined, all)).toMatchObject({ status: 403, json: { error: "FORBIDDEN", message: `this key is for app ${app["id"]} only` } });
    }
    expect(await postEvent(other["id"], all)).toMatchObject({ status: 403, json: { error: "FORBIDDEN" } });

    // The operator's own operations: never with a key, its own app's config and keys included.
    for (const [method, path, body] of [
      ["GET", "/apps"],
      ["POST", "/apps", { name: "Mine" }],
      ["GET", "/storage"],
      ["PATCH", `/apps/${app["id"]}`, { name: "Renamed" }],
      ["POST", `/apps/${app["id"]}/keys`, { scopes: ["stats:read"] }],
      ["GET", `/apps/${app["id"]}/keys`],
      ["DELETE", `/apps/${app["id"]}/keys/1`],
    ] as Array<[string, string, unknown?]>) {
      expect(await call(method, path, body, all)).toMatchObject({ status: 403, json: { error: "FORBIDDEN", message: "this operation takes the ADMIN_TOKEN; an app key cannot call it" } });
    }

    // Scopes are checked when the key is issued, and listed with it.
    expect(await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["root"] })).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST" } });
    expect(await call("POST", `/apps/${app["id"]}/keys`, { scopes: [] })).toMatchObject({ status: 400 });
    const listed = (await call("GET", `/apps/${app["id"]}/keys`)).json!["keys"] as Array<{ scopes: string[] }>;
    expect(listed.map((key) => key.scopes)).toEqual([["stats:read", "messages:read"], ["tokens:write", "moderation:write"], ["events:write", "tokens:write", "messages:read", "messages:write", "moderation:write", "stats:read"]]);
  });

  it("disconnects a user's live sessions on every shard, telling them why, and no one else's", async () => {
    const app = (await call("POST", "/apps", { name: "Kicks" })).json!;
    const issue = async (authId: number, uname: string) => (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: authId, uname, role: "MEMBER" })).json!["token"] as string;
    const [kateToken, leoToken] = [await issue(801, "kate"), await issue(802, "leo")];
    const authed = async (token: string) => {
      const socket = await connect(server.url, { appId: app["id"] });
      const [error] = await request(socket, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] });
      expect(error).toBeNull();
      return socket;
    };
    // Two tabs of kate's (on whichever shards their addresses take them), and leo watching.
    const kate = [await authed(kateToken), await authed(kateToken)];
    const leo = await authed(leoToken);
    const told = kate.map((socket) => next<string>(socket, "client_error"));
    const gone = kate.map((socket) => next<string>(socket, "disconnect"));
    const left = next<{ uname: string }>(leo, "user_left");
    const staff = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["moderation:write"] })).json!["key"] as string;
    expect(await call("POST", `/apps/${app["id"]}/users/801/disconnect`, undefined, staff)).toEqual({ status: 200, json: { disconnected: 2 } });
    expect(await Promise.all(told)).toEqual(["the app disconnected this user", "the app disconnected this user"]);
    expect(await Promise.all(gone)).toEqual(["io server disconnect", "io server disconnect"]);
    expect(await left).toEqual({ uname: "kate" });
    expect(await call("POST", `/apps/${app["id"]}/users/801/disconnect`)).toEqual({ status: 200, json: { disconnected: 0 } });
    // leo was not touched: still served.
    expect((await request(leo, "new_message", { text: "still here" }))[0]).toBeNull();

    // Revoking leo's token ends his live session too.
    const revoked = next<string>(leo, "client_error");
    const leoTokens = (await call("GET", `/apps/${app["id"]}/tokens?auth_id=802`)).json!["tokens"] as Array<{ id: number }>;
    expect((await call("DELETE", `/apps/${app["id"]}/tokens/${leoTokens[0]!.id}`)).status).toBe(204);
    expect(await revoked).toBe("your access token was revoked; authenticate again with a new one");
    leo.disconnect();
  });

  it("bans a user: its live sessions end on every shard, its auth is refused while the ban lasts, and lifting it lets it back", async () => {
    const app = (await call("POST", "/apps", { name: "Bans" })).json!;
    const moderator = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["moderation:write"] })).json!["key"] as string;
    const token = (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 701, uname: "spammer", role: "MEMBER" })).json!["token"] as string;
    const bystanderToken = (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 702, uname: "bystander", role: "MEMBER" })).json!["token"] as string;
    const authAs = async (accessToken: string) => {
      const socket = await connect(server.url, { appId: app["id"] });
      return { socket, answer: await request(socket, "auth", { app_id: app["id"], access_token: accessToken, subscriptions: ["CHAT"] }) };
    };
    const tabs = [await authAs(token), await authAs(token)];
    const bystander = await authAs(bystanderToken);
    const told = tabs.map(({ socket }) => next<string>(socket, "client_error"));

    const banned = await call("POST", `/apps/${app["id"]}/bans`, { auth_id: 701, reason: "spam links" }, moderator);
    expect(banned).toMatchObject({ status: 201, json: { auth_id: 701, reason: "spam links", expires_at: null, disconnected: 2 } });
    expect(await Promise.all(told)).toEqual(["you are banned from this app", "you are banned from this app"]);
    const again = await authAs(token);
    expect(again.answer).toEqual(["USER_IS_BANNED"]);
    expect(await next<string>(again.socket, "disconnect")).toBe("io server disconnect");
    expect((await request(bystander.socket, "new_message", { text: "quiet now" }))[0]).toBeNull();
    expect((await call("GET", `/apps/${app["id"]}/bans`, undefined, moderator)).json).toEqual({ bans: [{ auth_id: 701, reason: "spam links", created_at: expect.any(String), expires_at: null }] });

    expect(await call("POST", `/apps/${app["id"]}/bans`, { auth_id: 701, expires_at: "2020-01-01T00:00:00Z" })).toMatchObject({ status: 400 });
    expect((await call("DELETE", `/apps/${app["id"]}/bans/701`, undefined, moderator)).status).toBe(204);
    expect(await call("DELETE", `/apps/${app["id"]}/bans/701`, undefined, moderator)).toMatchObject({ status: 404, json: { error: "NOT_BANNED" } });
    const back = await authAs(token);
    expect(back.answer[0]).toBeNull();
    for (const socket of [back.socket, bystander.socket]) socket.disconnect();
  });

  it("puts a channel in slow mode for its MEMBERs, at once and on every shard, and takes it off", async () => {
    const app = (await call("POST", "/apps", { name: "Slow" })).json!;
    const moderator = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["moderation:write"] })).json!["key"] as string;
    const authed = async (authId: number, uname: string, role: string) => {
      const token = (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: authId, uname, role })).json!["token"] as string;
      const socket = await connect(server.url, { appId: app["id"] });
      expect((await request(socket, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] }))[0]).toBeNull();
      return socket;
    };
    const member = await authed(601, "member_mia", "MEMBER");
    const mod = await authed(602, "mod_max", "MOD");
    expect(await call("PUT", `/apps/${app["id"]}/slow-mode/lobby`, { seconds: 30 }, moderator)).toEqual({ status: 200, json: { channel: "lobby", seconds: 30 } });
    expect((await request(member, "new_message", { text: "one" }))[0]).toBeNull();
    expect(await request(member, "new_message", { text: "two" })).toEqual(["RATE_LIMITED"]);
    expect((await request(member, "new_message", { channel: "offtopic", text: "elsewhere" }))[0]).toBeNull();
    for (const text of ["a", "b", "c"]) expect((await request(mod, "new_message", { text }))[0]).toBeNull();
    expect((await call("GET", `/apps/${app["id"]}/slow-mode`, undefined, moderator)).json).toEqual({ channels: [{ channel: "lobby", seconds: 30 }] });
    expect(await call("PUT", `/apps/${app["id"]}/slow-mode/lobby`, { seconds: 0 }, moderator)).toMatchObject({ status: 400 });
    expect(await call("PUT", `/apps/${app["id"]}/slow-mode/Not%20A%20Channel`, { seconds: 5 }, moderator)).toMatchObject({ status: 400, json: { error: "INVALID_CHANNEL" } });
    expect((await call("DELETE", `/apps/${app["id"]}/slow-mode/lobby`, undefined, moderator)).status).toBe(204);
    expect(await call("DELETE", `/apps/${app["id"]}/slow-mode/lobby`, undefined, moderator)).toMatchObject({ status: 404, json: { error: "NOT_SLOW" } });
    expect((await request(member, "new_message", { text: "free again" }))[0]).toBeNull();
    for (const socket of [member, mod]) socket.disconnect();
  });

  it("erases a user: its messages leave storage, history and connected clients; its mutes, ban, tokens and sessions go; no one else's", async () => {
    const app = (await call("POST", "/apps", { name: "Erasure" })).json!;
    const moderator = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["moderation:write"] })).json!["key"] as string;
    const issue = async (authId: number, uname: string) => (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: authId, uname, role: "MEMBER" })).json!["token"] as string;
    const authed = async (token: string) => {
      const socket = await connect(server.url, { appId: app["id"] });
      expect((await request(socket, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] }))[0]).toBeNull();
      return socket;
    };
    const gone = await authed(await issue(501, "gone_gina"));
    await issue(501, "gone_gina");
    const stays = await authed(await issue(502, "stays_sid"));
    const sent: number[] = [];
    for (const text of ["one", "two", "three"]) sent.push(((await request(gone, "new_message", { text }))[1] as { id: number }).id);
    const kept = ((await request(stays, "new_message", { text: "mine stays" }))[1] as { id: number }).id;
    const told = next<string>(gone, "client_error");
    const deleted = record(stays, "message_deleted");

    const erased = await call("DELETE", `/apps/${app["id"]}/users/501`, undefined, moderator);
    expect(erased).toEqual({ status: 200, json: { messages: 3, mutes: 0, bans: 0, tokens: 2, sessions: 1, unfinished: false } });
    expect(await told).toBe("the app erased this user's data");
    await until(() => deleted["message_deleted"]!.length === 3);
    expect(deleted["message_deleted"]).toEqual(sent.map((id) => ({ id, channel: "lobby" })));
    // Not in storage, nor in the history a new client gets; the other user's message is in both.
    const stored = ((await call("GET", `/apps/${app["id"]}/messages`)).json!["messages"] as Array<{ id: number }>).map((message) => message.id);
    expect(stored).toEqual([kept]);
    const fresh = await connect(server.url, { appId: app["id"] });
    const [, answer] = await request(fresh, "auth", { app_id: app["id"], subscriptions: ["CHAT"] });
    expect((answer as { chat: { messages: Array<{ id: number }> } }).chat.messages.map((message) => message.id)).toEqual([kept]);
    expect((await call("GET", `/apps/${app["id"]}/tokens?auth_id=501`)).json!["tokens"]).toEqual([]);
    expect((await call("DELETE", `/apps/${app["id"]}/users/501`, undefined, moderator)).json).toEqual({ messages: 0, mutes: 0, bans: 0, tokens: 0, sessions: 0, unfinished: false });
    for (const socket of [stays, fresh]) socket.disconnect();
  });

  it("lets the app's backend post system messages and push events of its own, to everyone or to one user", async () => {
    const app = (await call("POST", "/apps", { name: "Publisher" })).json!;
    const publisher = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["messages:write"] })).json!["key"] as string;
    const issue = async (authId: number, uname: string) => (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: authId, uname, role: "MEMBER" })).json!["token"] as string;
    const authed = async (token: string | null, subscriptions = ["CHAT"]) => {
      const socket = await connect(server.url, { appId: app["id"] });
      const [error] = await request(socket, "auth", { app_id: app["id"], ...(token ? { access_token: token } : {}), subscriptions });
      expect(error).toBeNull();
      return socket;
    };
    const nina = await authed(await issue(901, "nina"));
    const otto = await authed(await issue(902, "otto"), ["BETS"]);
    const anonymous = await authed(null, ["BETS"]);
    const bot = await PlainClient.open(server.url, app["id"]);
    expect((await bot.request("auth", { app_id: app["id"], subscriptions: ["BETS"] })).a).toBe("ack");

    // A system message: stored, in history, delivered to CHAT subscribers with no user.
    const delivered = next<Record<string, unknown>>(nina, "new_message");
    const posted = await call("POST", `/apps/${app["id"]}/messages`, { channel: "news", text: "Maintenance at noon" }, publisher);
    expect(posted).toMatchObject({ status: 201, json: { id: expect.any(Number), channel: "news", text: "Maintenance at noon" } });
    expect(posted.json).not.toHaveProperty("user");
    expect(await delivered).toEqual(posted.json);
    const late = await connect(server.url, { appId: app["id"] });
    const [, history] = await request(late, "auth", { app_id: app["id"], subscriptions: ["CHAT"] });
    expect((history as { chat: { messages: unknown[] } }).chat.messages).toContainEqual(posted.json);
    late.disconnect();
    for (const bad of [{ text: "" }, { text: "x".repeat(301) }, { text: "two\nlines" }, { channel: "Bad Channel", text: "hi" }]) {
      expect(await call("POST", `/apps/${app["id"]}/messages`, bad, publisher)).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST" } });
    }

    // An event to everyone: every session, whatever it subscribed to, anonymous ones included.
    const everyone = [nina, otto, anonymous].map((socket) => next<unknown>(socket, "promo"));
    expect(await call("POST", `/apps/${app["id"]}/broadcasts`, { event: "promo", data: { code: "DICE10" } }, publisher)).toEqual({
      status: 202,
      json: { event: "promo", auth_id: null },
    });
    expect(await Promise.all(everyone)).toEqual([{ code: "DICE10" }, { code: "DICE10" }, { code: "DICE10" }]);
    expect(await bot.next((event) => event.a === "promo")).toMatchObject({ a: "promo", p: { code: "DICE10" } });
    bot.ws.close();
    // To one user: only otto's sessions.
    const heard = record(nina, "bonus");
    const ottoHeard = next<unknown>(otto, "bonus");
    expect((await call("POST", `/apps/${app["id"]}/broadcasts`, { event: "bonus", data: 5, auth_id: 902 }, publisher)).status).toBe(202);
    expect(await ottoHeard).toBe(5);
    await pause(300);
    expect(heard["bonus"]).toEqual([]);
    for (const bad of [
      { event: "new_message", data: {} },
      { event: "disconnect" },
      { event: "reconnect_attempt" },
      { event: "Promo" },
      { event: "x".repeat(41) },
      { event: "big", data: "x".repeat(17_000) },
      { event: "promo", auth_id: 0 },
    ]) {
      expect(await call("POST", `/apps/${app["id"]}/broadcasts`, bad, publisher)).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST" } });
    }
    expect(await call("POST", `/apps/${app["id"]}/broadcasts`, { event: "huge", data: "x".repeat(200_000) }, publisher)).toMatchObject({ status: 413, json: { error: "PAYLOAD_TOO_LARGE" } });
    for (const socket of [nina, otto, anonymous]) socket.disconnect();
  });

  it("counts a known load by minute, across a restart: connects, sessions, failed auths, messages taken, rate-limited and refused, deliveries; and gauges what is open", async () => {
    const app = (await call("POST", "/apps", { name: "Counted" })).json!;
    const token = (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 901, uname: "counted", role: "MEMBER" })).json!["token"] as string;
    const reader = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["stats:read"] })).json!["key"] as string;
    const since = new Date(Date.now() - 60_000).toISOString();
    const load = async () => {
      const [user, anonymous, failing] = await Promise.all([1, 2, 3].map(() => connect(server.url, { appId: app["id"] })));
      expect((await request(user!, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] }))[0]).toBeNull();
      expect((await request(anonymous!, "auth", { app_id: app["id"], subscriptions: ["CHAT"] }))[0]).toBeNull();
      expect(await request(failing!, "auth", { app_id: "not a number", subscriptions: ["CHAT"] })).toEqual(["INVALID_AUTH"]);
      for (const text of ["one", "two", "three"]) expect((await request(user!, "new_message", { text }))[0]).toBeNull();
      expect(await request(user!, "new_message", { text: "" })).toEqual(["INVALID_MESSAGE"]);
      // The failed auth named no app the connection could stay on: the server closed it.
      const open = { ...CLOSED, connections_websocket: 2, connections_eio4: 2, users: 1, shards: Number(TEST_SHARDS) };
      expect(await settledGauges(open)).toEqual(open);
      // The listener goes first, so that the user's leaving reaches no one and the deliveries are the messages'.
      anonymous!.disconnect();
      await untilConnections(server, adminToken, 1, app["id"]);
      user!.disconnect();
      await untilConnections(server, adminToken, 0, app["id"]);
      const closed = { ...CLOSED, shards: Number(TEST_SHARDS) };
      expect(await settledGauges(closed)).toEqual(closed);
    };
    const CLOSED = { connections_websocket: 0, connections_polling: 0, connections_eio3: 0, connections_eio4: 0, connections_plain: 0, users: 0 };
    const series = async () => {
      const answer = await call("GET", `/apps/${app["id"]}/metrics?from=${encodeURIComponent(since)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, undefined, reader);
      expect(answer.status).toBe(200);
      return answer.json!["series"] as Array<Record<string, number>>;
    };
    /** The gauges as they stand: the last minute asked for is the next one, which carries the current values. */
    const gauges = async () => {
      const last = (await series()).at(-1)!;
      return Object.fromEntries(["shards", ...Object.keys(CLOSED)].map((gauge) => [gauge, last[gauge]]));
    };
    // Each object samples its own gauges (the room its users, each shard its connections), so right after a
    // change one may not have yet: the gauges are awaited until they show it, for a few seconds at most.
    const settledGauges = (expected: Record<string, number>) => eventually(gauges, (current) => isDeepStrictEqual(current, expected), 5_000);
    const totals = async () => {
      const minutes = await series();
      const sum = (counter: string) => minutes.reduce((total, minute) => total + minute[counter]!, 0);
      return {
        connects: sum("connects"),
        sessions: sum("sessions_started"),
        failed: sum("auth_failures"),
        messages: sum("chat_messages"),
        refused: sum("refused_messages"),
        limited: sum("rate_limited"),
        deliveries: sum("deliveries"),
      };
    };
    // Deliveries: each of the three messages reaches both CHAT subscribers, the sender included.
    const round = { connects: 3, sessions: 2, failed: 1, messages: 3, refused: 1, limited: 0, deliveries: 6 };
    await load();
    expect(await totals()).toEqual(round);
    // Asked again, the answer adds nothing. After a restart of the server (every object starts afresh from its
    // storage) the counts are all there, once, and another round adds its own.
    expect(await totals()).toEqual(round);
    await server.restart();
    expect(await totals()).toEqual(round);
    await load();
    expect(await totals()).toEqual(Object.fromEntries(Object.entries(round).map(([name, value]) => [name, 2 * value])));

    // A scrape shows the same totals, as counters, once the app's objects exported them; and what is open now.
    const scraped = async () => {
      const response = await fetch(`${server.url}/v1/admin/metrics`, { headers: { Authorization: `Bearer ${adminToken}` } });
      expect(response.headers.get("Content-Type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
      const text = await response.text();
      const sample = (name: string, labels = "") => Number(new RegExp(`^socketpot_${name}\\{app_id="${app["id"]}"${labels}\\} (\\S+)$`, "m").exec(text)?.[1]);
      return {
        text,
        counts: { connects: sample("connects_total"), sessions: sample("sessions_started_total"), messages: sample("chat_messages_total"), deliveries: sample("deliveries_total") },
        gauges: { websocket: sample("connections", ',transport="websocket"'), users: sample("users"), shards: sample("shards") },
      };
    };
    const scrape = await eventually(scraped, ({ counts }) => counts.connects === 6 && counts.deliveries === 12, 10_000);
    expect(scrape.counts).toEqual({ connects: 6, sessions: 4, messages: 6, deliveries: 12 });
    expect(scrape.gauges).toEqual({ websocket: 0, users: 0, shards: Number(TEST_SHARDS) });
    expect(scrape.text.endsWith("# EOF\n")).toBe(true);
    expect((await fetch(`${server.url}/v1/admin/metrics`, { headers: { Authorization: `Bearer ${reader}` } })).status).toBe(403);

    const minutes = (await call("GET", `/apps/${app["id"]}/metrics`)).json!;
    expect(minutes).toMatchObject({ app_id: app["id"], step_seconds: 60 });
    expect((minutes["series"] as unknown[]).length).toBeGreaterThanOrEqual(60);
    expect(await call("GET", `/apps/${app["id"]}/metrics?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z`)).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST" } });
    expect(await call("GET", `/apps/${app["id"]}/metrics?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z`)).toMatchObject({ status: 400 });
    const staff = (await call("POST", `/apps/${app["id"]}/keys`, { scopes: ["moderation:write"] })).json!["key"] as string;
    expect(await call("GET", `/apps/${app["id"]}/metrics`, undefined, staff)).toMatchObject({ status: 403, json: { error: "INSUFFICIENT_SCOPE", scope: "stats:read" } });
  });

  it("keeps no token or key at rest, nor in its logs, and logs one audit line per change", async () => {
    const app = (await call("POST", "/apps", { name: "At rest" })).json!;
    const token = (await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 5, uname: "eve", role: "MEMBER" })).json!;
    const key = (await call("POST", `/apps/${app["id"]}/keys`)).json!;
    const socket = await connect(server.url, { appId: app["id"] });
    const [, response] = await request(socket, "auth", { app_id: app["id"], access_token: token["token"], subscriptions: ["CHAT"] });
    expect(response).toMatchObject({ user: { uname: "eve" } });
    socket.disconnect();
    expect((await postEvent(app["id"], key["key"])).status).toBe(202);
    expect((await call("DELETE", `/apps/${app["id"]}/keys/${key["id"]}`)).status).toBe(204);

    // The scan sees what D1 keeps (the app's name), and neither secret.
    expect(await filesHolding(server, "At rest")).not.toEqual([]);
    expect(await filesHolding(server, token["token"])).toEqual([]);
    expect(await filesHolding(server, key["key"])).toEqual([]);
    const output = server.output();
    expect(output).not.toContain(token["token"]);
    expect(output).not.toContain(key["key"]);
    const audit = output
      .split("\n")
      .filter((line) => line.includes('"admin_audit"') && line.includes(`"app_id":${app["id"]},`))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"))));
    expect(audit).toEqual([
      { event: "admin_audit", action: "app_created", app_id: app["id"], object_id: app["id"] },
      { event: "admin_audit", action: "token_issued", app_id: app["id"], object_id: token["id"] },
      { event: "admin_audit", action: "key_issued", app_id: app["id"], object_id: key["id"] },
      { event: "admin_audit", action: "key_revoked", app_id: app["id"], object_id: key["id"] },
    ]);
  });

  it("publishes itself as OpenAPI 3.1, generated from the schemas that validate its requests", async () => {
    expect((await call("GET", "/openapi.json", undefined, null)).status).toBe(401);
    const { status, json: doc } = await call("GET", "/openapi.json");
    expect(status).toBe(200);
    expect(doc).toMatchObject({ openapi: "3.1.0", components: { securitySchemes: { AdminToken: { type: "http", scheme: "bearer" } } } });
    const operations = Object.entries(doc!["paths"] as Record<string, object>).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        "GET /whoami",
        "POST /apps",
        "GET /apps",
        "GET /apps/{app_id}",
        "PATCH /apps/{app_id}",
        "GET /apps/{app_id}/stats",
        "GET /apps/{app_id}/storage",
        "GET /apps/{app_id}/metrics",
        "GET /metrics",
        "GET /storage",
        "POST /apps/{app_id}/tokens",
        "GET /apps/{app_id}/tokens",
        "DELETE /apps/{app_id}/tokens/{token_id}",
        "POST /apps/{app_id}/keys",
        "GET /apps/{app_id}/keys",
        "DELETE /apps/{app_id}/keys/{key_id}",
        "GET /apps/{app_id}/messages",
        "DELETE /apps/{app_id}/messages/{message_id}",
        "GET /apps/{app_id}/mutes",
        "DELETE /apps/{app_id}/mutes/{auth_id}",
        "POST /apps/{app_id}/users/{auth_id}/disconnect",
        "DELETE /apps/{app_id}/users/{auth_id}",
        "POST /apps/{app_id}/messages",
        "POST /apps/{app_id}/broadcasts",
        "POST /apps/{app_id}/bans",
        "GET /apps/{app_id}/bans",
        "DELETE /apps/{app_id}/bans/{auth_id}",
        "PUT /apps/{app_id}/slow-mode/{channel}",
        "DELETE /apps/{app_id}/slow-mode/{channel}",
        "GET /apps/{app_id}/slow-mode",
        "POST /apps/{app_id}/signing-keys",
        "GET /apps/{app_id}/signing-keys",
        "DELETE /apps/{app_id}/signing-keys/{signing_key_id}",
        "POST /apps/{app_id}/webhooks",
        "GET /apps/{app_id}/webhooks",
        "PATCH /apps/{app_id}/webhooks/{webhook_id}",
        "DELETE /apps/{app_id}/webhooks/{webhook_id}",
        "POST /apps/{app_id}/webhooks/{webhook_id}/rotate-secret",
        "GET /apps/{app_id}/webhooks/{webhook_id}/deliveries",
        "GET /health",
      ].sort(),
    );
    // The request schemas are the validators themselves: their rules are in the document.
    const issueToken = doc!["components"]["schemas"]["IssueToken"];
    expect(issueToken).toMatchObject({ required: expect.arrayContaining(["auth_id", "uname", "role"]), properties: { role: { enum: ["OWNER", "MOD", "MEMBER"] } } });
    expect(issueToken.properties.uname.pattern).toBe("^[A-Za-z0-9_.-]{1,64}$");
    expect(doc!["components"]["schemas"]["UpdateApp"]["properties"]["retention_days"]).toMatchObject({ minimum: 1, maximum: 3650 });
    // The issued key is the listed one and the key itself.
    expect(doc!["components"]["schemas"]["IssuedAppKey"]).toMatchObject({ allOf: [{ $ref: "#/components/schemas/AppKey" }, { properties: { key: { type: "string" } }, required: ["key"] }] });
    expect(Object.keys(doc!["components"]["schemas"]["AppKey"]["properties"])).not.toContain("key");
    // Who may call each operation: the operator always; an app key only where a scope is named.
    const security = (method: string, path: string) => doc!["paths"][path][method]["security"];
    expect(security("get", "/apps/{app_id}/stats")).toEqual([{ AdminToken: [] }, { AppKey: ["stats:read"] }]);
    expect(security("post", "/apps/{app_id}/tokens")).toEqual([{ AdminToken: [] }, { AppKey: ["tokens:write"] }]);
    expect(security("delete", "/apps/{app_id}/messages/{message_id}")).toEqual([{ AdminToken: [] }, { AppKey: ["moderation:write"] }]);
    expect(security("post", "/apps/{app_id}/keys")).toEqual([{ AdminToken: [] }]);
    expect(security("post", "/apps/{app_id}/webhooks")).toEqual([{ AdminToken: [] }, { AppKey: ["webhooks:write"] }]);
    expect(security("get", "/apps")).toEqual([{ AdminToken: [] }]);
    expect(JSON.stringify(doc)).not.toContain('"scope":"operator"');
  });

  it("answers a body that is not JSON, or not declared as JSON, with a JSON error", async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${server.url}/v1/admin/apps`, { method: "POST", headers: { Authorization: `Bearer ${adminToken}`, ...headers }, body });
    const malformed = await post({ "Content-Type": "application/json" }, "{nope");
    expect([malformed.status, await malformed.json()]).toEqual([400, { error: "INVALID_REQUEST", message: expect.any(String) }]);
    const undeclared = await post({}, JSON.stringify({ name: "X" }));
    expect([undeclared.status, await undeclared.json()]).toEqual([415, { error: "UNSUPPORTED_MEDIA_TYPE", message: expect.any(String) }]);
  });

  it("lists messages by channel, newest first, in pages", async () => {
    const alice = await join(server.url, "owner");
    for (const [text, channel] of [["one", "admin-a"], ["two", "admin-b"], ["three", "admin-a"]]) {
      await request(alice.socket, "new_message", { text, channel });
    }
    const page = await call("GET", "/apps/1/messages?channel=admin-a&limit=1");
    expect(page.json?.["messages"].map((m: { text: string }) => m.text)).toEqual(["three"]);
    const next = await call("GET", `/apps/1/messages?channel=admin-a&limit=5&before=${page.json?.["next_before"]}`);
    expect(next.json?.["messages"].map((m: { text: string }) => m.text)).toEqual(["one"]);
    alice.socket.disconnect();
  });

  it("deletes a message, telling CHAT subscribers and dropping it from history", async () => {
    const alice = await join(server.url, "alice");
    const bob = await join(server.url, "bob");
    const [, message] = (await request(alice.socket, "new_message", { text: "regrettable" })) as [null, { id: number; channel: string }];
    const removal = next(bob.socket, "message_deleted");
    expect((await call("DELETE", `/apps/1/messages/${message.id}`)).status).toBe(204);
    expect(await removal).toEqual({ id: message.id, channel: "lobby" });
    const late = await join(server.url, null);
    expect((late.response["chat"] as { messages: Array<{ id: number }> }).messages.map((m) => m.id)).not.toContain(message.id);
    expect(await call("DELETE", `/apps/1/messages/${message.id}`)).toEqual({ status: 404, json: { error: "UNKNOWN_MESSAGE", message: "this app has no such message" } });
    for (const joined of [alice, bob, late]) joined.socket.disconnect();
  });

  it("shows every acked message of a concurrent burst stored exactly once", async () => {
    const senders = await Promise.all(["owner", "mod", "alice", "bob"].map((uname) => join(server.url, uname)));
    const acks = await Promise.all(
      senders.flatMap((sender, s) =>
        Array.from({ length: 25 }, (_, i) => request(sender.socket, "new_message", { text: `burst ${s}-${i}`, channel: "burst" })),
      ),
    );
    const ids = acks.map(([error, message]) => {
      expect(error).toBeNull();
      return (message as { id: number }).id;
    });
    const stored = await call("GET", "/apps/1/messages?channel=burst&limit=100");
    const storedIds = (stored.json?.["messages"] as Array<{ id: number }>).map((message) => message.id).reverse();
    expect(storedIds).toHaveLength(100);
    expect(new Set(storedIds).size).toBe(100);
    expect(storedIds).toEqual([...ids].sort((a, b) => a - b));
    for (const sender of senders) sender.socket.disconnect();
  });

  it("lists and lifts mutes", async () => {
    const mod = await join(server.url, "mod");
    const bob = await join(server.url, "bob");
    await request(mod.socket, "new_message", { text: "/mute bob 1h" });
    const mutes = await call("GET", "/apps/1/mutes");
    expect(mutes.json?.["mutes"]).toEqual([expect.objectContaining({ auth_id: 4, uname: "bob", muted_by: "mod" })]);
    expect(await request(bob.socket, "new_message", { text: "hello?" })).toEqual(["USER_IS_MUTED"]);
    expect((await call("DELETE", "/apps/1/mutes/4")).status).toBe(204);
    expect((await request(bob.socket, "new_message", { text: "free" }))[0]).toBeNull();
    expect(await call("DELETE", "/apps/1/mutes/4")).toEqual({ status: 404, json: { error: "NOT_MUTED", message: "this user is not muted" } });
    mod.socket.disconnect();
    bob.socket.disconnect();
  });
});
