import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, join, next, request } from "../support/clients.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";

/** The operator's admin API against a real server, its effects observed by real clients. */
let server: TestServer;
let adminToken: string;

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken, CHAT_RATE_BURST: "1000" });
});

afterAll(async () => {
  await server?.stop();
});

async function call(method: string, path: string, body?: unknown, token: string | null = adminToken) {
  const response = await fetch(`${server.url}/v1/admin${path}`, {
    method,
    headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, any>) : null };
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

  it("issues tokens that authenticate, lists them, and revokes them", async () => {
    const app = (await call("POST", "/apps", { name: "Tokens" })).json!;
    const issued = await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 77, uname: "kate", role: "MOD", expires_at: "2099-01-01T00:00:00Z" });
    expect(issued.status).toBe(201);
    expect(issued.json).toMatchObject({ auth_id: 77, uname: "kate", role: "MOD", expires_at: "2099-01-01T00:00:00.000Z", revoked_at: null });
    const token = issued.json!["token"] as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 1, uname: "x y", role: "MEMBER" })).status).toBe(400);
    expect((await call("POST", `/apps/${app["id"]}/tokens`, { auth_id: 1, uname: "x", role: "ADMIN" })).status).toBe(400);

    const socket = await connect(server.url, { appId: app["id"] });
    const [, response] = await request(socket, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] });
    expect(response).toMatchObject({ user: { uname: "kate", auth_id: 77, role: "MOD" } });
    socket.disconnect();

    const listed = await call("GET", `/apps/${app["id"]}/tokens?auth_id=77`);
    expect(listed.json?.["tokens"]).toEqual([issued.json]);
    expect((await call("DELETE", `/apps/${app["id"]}/tokens/${token}`)).status).toBe(204);
    expect((await call("DELETE", `/apps/${app["id"]}/tokens/00000000-0000-4000-8000-999999999999`)).status).toBe(404);
    const again = await connect(server.url, { appId: app["id"] });
    const [, anonymous] = await request(again, "auth", { app_id: app["id"], access_token: token, subscriptions: ["CHAT"] });
    expect(anonymous).not.toHaveProperty("user");
    again.disconnect();
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
    expect((await call("DELETE", `/apps/1/messages/${message.id}`)).status).toBe(404);
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
    expect((await call("DELETE", "/apps/1/mutes/4")).status).toBe(404);
    mod.socket.disconnect();
    bob.socket.disconnect();
  });
});
