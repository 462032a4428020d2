import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, request, sentinel, until, type Client, type ClientVersion } from "../support/clients.js";
import { PlainClient } from "../support/plain-client.js";
import { demoUser, localSecret, startTestServer, type TestServer } from "../support/server.js";

/**
 * An app with no `shards` of its own on a deployment with automatic shards, and a target of 20 connections an
 * object: as clients of every kind arrive, its room adds shards, the Worker follows, and the whole contract
 * holds across them.
 */
const TARGET = 20;
const MOST_PER_OBJECT = 30;
let server: TestServer;
let adminToken: string;
let ingestToken: string;
const open: Array<{ close(): void }> = [];

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  ingestToken = await localSecret("INGEST_TOKEN");
  server = await startTestServer({
    ADMIN_TOKEN: adminToken,
    INGEST_TOKEN: ingestToken,
    ROOM_SHARDS: "auto",
    SHARD_TARGET_CONNECTIONS: String(TARGET),
    MAX_CONNECTIONS_PER_OBJECT: String(MOST_PER_OBJECT),
    CHAT_RATE_BURST: "1000",
  });
});

afterAll(async () => {
  for (const client of open) client.close();
  await server?.stop();
});

async function admin(path: string): Promise<Record<string, any>> {
  const response = await fetch(`${server.url}/v1/admin${path}`, { headers: { Authorization: `Bearer ${adminToken}` } });
  return (await response.json()) as Record<string, any>;
}

const demoApp = async () => ((await admin("/apps"))["apps"] as Array<Record<string, unknown>>).find((app) => app["id"] === 1);

/** The shard a socket.io client's connection is on, from its Engine.IO session id (`k.…` on shard k). */
function shardOf(socket: Client): number {
  const id = (socket.io.engine as { id?: string }).id ?? "";
  return id.includes(".") ? Number(id.split(".")[0]) : 0;
}

const KINDS: Array<{ version: ClientVersion; transports: string[] }> = [
  { version: "v4", transports: ["websocket"] },
  { version: "v4", transports: ["polling"] },
  { version: "v2", transports: ["websocket"] },
  { version: "v1", transports: ["polling", "websocket"] },
];

/** An anonymous CHAT client of kind `index` (socket.io of three generations and transports, or plain). */
async function anonymous(index: number): Promise<void> {
  if (index % 5 === 4) {
    const plain = await PlainClient.open(server.url);
    open.push({ close: () => plain.ws.close() });
    expect((await plain.request("auth", { app_id: 1, subscriptions: ["CHAT"] })).a).toBe("ack");
    return;
  }
  const socket = await connect(server.url, KINDS[index % 5]!);
  open.push({ close: () => socket.disconnect() });
  const [error] = await request(socket, "auth", { app_id: 1, subscriptions: ["CHAT"] });
  expect(error).toBeNull();
}

describe("automatic shards", () => {
  it("grow with the load, every client kind on them, no object past its most, and the contract whole across them", async () => {
    expect(await demoApp()).toMatchObject({ shard_mode: "automatic", shards: 1 });
    // 150 clients in waves of ten, as an app fills up.
    for (let wave = 0; wave < 15; wave++) await Promise.all(Array.from({ length: 10 }, (_, i) => anonymous(wave * 10 + i)));

    const stats = await admin("/apps/1/stats");
    expect(stats).toMatchObject({ shard_mode: "automatic", connections: 150 });
    // 150 connections at three quarters of 20 each: ten shards.
    expect(stats["shard_count"]).toBe(10);
    const held = (stats["shards"] as Array<{ shard: number; connections: number }>).map((shard) => shard.connections);
    expect(Math.max(...held)).toBeLessThanOrEqual(MOST_PER_OBJECT);
    expect(held.filter((connections) => connections > 0).length).toBeGreaterThanOrEqual(5);
    expect(await demoApp()).toMatchObject({ shard_mode: "automatic", shards: 10, min_shards: 1, max_shards: 64 });

    // Users on shards the app grew into: chat in one order, presence once per user, deposits to their user only.
    const alice = await connect(server.url);
    const bob = await connect(server.url, { version: "v2" });
    open.push({ close: () => alice.disconnect() }, { close: () => bob.disconnect() });
    expect(shardOf(alice)).toBeGreaterThan(0);
    expect((await request(alice, "auth", { app_id: 1, access_token: demoUser("alice").token, subscriptions: ["CHAT", "DEPOSITS"] }))[0]).toBeNull();
    const [, bobAuth] = await request(bob, "auth", { app_id: 1, access_token: demoUser("bob").token, subscriptions: ["CHAT", "DEPOSITS"] });
    expect(Object.keys((bobAuth as { chat: { userlist: Record<string, unknown> } }).chat.userlist).sort()).toEqual(["alice", "bob"]);
    const heard: string[] = [];
    bob.on("new_message", (message: { text: string }) => heard.push(message.text));
    for (const text of ["one", "two", "three"]) expect((await request(alice, "new_message", { text }))[0]).toBeNull();
    await until(() => heard.length === 3);
    expect(heard).toEqual(["one", "two", "three"]);
    await sentinel(alice, [bob]);
    // A client arriving now, on whichever shard, gets them in its history, in order.
    const late = await connect(server.url, { version: "v1" });
    open.push({ close: () => late.disconnect() });
    const [, lateAuth] = await request(late, "auth", { app_id: 1, subscriptions: ["CHAT"] });
    const history = (lateAuth as { chat: { messages: Array<{ text: string }> } }).chat.messages.map((message) => message.text);
    expect(history.filter((text) => ["one", "two", "three"].includes(text))).toEqual(["one", "two", "three"]);

    const deposits: { alice: unknown[]; bob: unknown[] } = { alice: [], bob: [] };
    alice.on("balance_change", (change) => deposits.alice.push(change));
    bob.on("balance_change", (change) => deposits.bob.push(change));
    const posted = await fetch(`${server.url}/v1/apps/1/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${ingestToken}` },
      body: JSON.stringify({ id: `auto-shards-${Date.now()}`, type: "balance_change", auth_id: demoUser("alice").authId, balance: 500, diff: 500 }),
    });
    expect(posted.status).toBe(202);
    await until(() => deposits.alice.length === 1);
    await sentinel(alice, [bob]);
    expect(deposits.bob).toEqual([]);
  });

  it("give a recovering client its session back, whichever shard its new connection lands on", async () => {
    const socket: Socket = io(server.url, { query: { app_id: 1 }, transports: ["websocket"], forceNew: true, reconnectionDelay: 300, randomizationFactor: 0 });
    open.push({ close: () => socket.disconnect() });
    const auths: unknown[][] = [];
    socket.on("connect", () => socket.emit("auth", { app_id: 1, access_token: demoUser("owner").token, subscriptions: ["CHAT"] }, (...reply: unknown[]) => auths.push(reply)));
    await until(() => auths.length === 1);
    const id = socket.id;
    (socket.io.engine as unknown as { close(): void }).close();
    await until(() => auths.length === 2);
    expect(socket.id).toBe(id);
    expect(auths[1]![0]).toBeNull();
  });
});
