import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, join, next, record, request, sentinel, until, type Client, type Joined } from "../support/clients.js";
import { ROOM_BATCHES_PER_SECOND } from "../../src/ordering/batch-pacing.js";
import { demoUser, localSecret, startTestServer, untilConnections, type TestServer } from "../support/server.js";

/**
 * An app's shard count changed through the admin API while clients are connected: new connections spread over
 * connection shards, the ones made before stay where they are, and the contract holds across all of them.
 */
let server: TestServer;
let adminToken: string;
let ingestToken: string;

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  ingestToken = await localSecret("INGEST_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken, INGEST_TOKEN: ingestToken, ROOM_SHARDS: "1", CHAT_RATE_BURST: "1000" });
});

afterAll(async () => {
  await server?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(`${server.url}/v1/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** The shard a socket.io client's connection is on, from its Engine.IO session id (`k.…` on shard k). */
function shardOf(socket: Client): number {
  const id = (socket.io.engine as { id?: string }).id ?? "";
  return id.includes(".") ? Number(id.split(".")[0]) : 0;
}

/** Connects `uname` until a connection lands on a shard that `avoid` rules out (shards are chosen at random). */
async function joinOnAnotherShard(uname: string, avoid: (shard: number) => boolean, subscriptions = ["CHAT"]): Promise<Joined> {
  for (;;) {
    const joined = await join(server.url, uname, subscriptions);
    if (!avoid(shardOf(joined.socket))) return joined;
    joined.socket.disconnect();
  }
}

describe("an app's shard count", () => {
  it("is set with PATCH, shown on the app, and refused outside 1-64", async () => {
    expect((await admin("PATCH", "/apps/1", { shards: 0 })).status).toBe(400);
    expect((await admin("PATCH", "/apps/1", { shards: 65 })).status).toBe(400);
    expect((await admin("PATCH", "/apps/1", {})).status).toBe(400);
    expect(await admin("PATCH", "/apps/1", { shards: 4 })).toMatchObject({ status: 200, json: { id: 1, shards: 4 } });
    expect((await admin("GET", "/apps")).json["apps"]).toContainEqual(expect.objectContaining({ id: 1, shards: 4 }));
    expect(await admin("PATCH", "/apps/1", { shards: 1 })).toMatchObject({ status: 200, json: { shards: 1 } });

    // A PATCH changes what it names and nothing else.
    const locked = (await admin("POST", "/apps", { name: "Locked", allowed_origins: ["https://locked.example"] })).json;
    expect(await admin("PATCH", `/apps/${locked["id"]}`, { shards: 8 })).toMatchObject({
      status: 200,
      json: { name: "Locked", allowed_origins: ["https://locked.example"], shards: 8 },
    });
    expect((await admin("PATCH", "/apps/999", { shards: 2 })).status).toBe(404);
  });

  it("changes on a live app without dropping anyone: connections from before and after all hear every message, in one order", async () => {
    const before = await join(server.url, "owner");
    expect(shardOf(before.socket)).toBe(0);
    await admin("PATCH", "/apps/1", { shards: 4 });
    const after: Joined[] = [];
    for (let index = 0; index < 8; index++) after.push(await join(server.url, index % 2 === 0 ? "alice" : null));
    expect(after.every((joined) => shardOf(joined.socket) >= 1 && shardOf(joined.socket) <= 4)).toBe(true);
    expect(new Set(after.map((joined) => shardOf(joined.socket))).size).toBeGreaterThan(1);

    const stats = await admin("GET", "/apps/1/stats");
    expect(stats.json).toMatchObject({ app_id: 1, shard_count: 4, connections: 9, users: 2 });
    const spread = (stats.json["shards"] as Array<{ shard: number; connections: number }>).filter((shard) => shard.connections > 0);
    expect(spread.length).toBeGreaterThan(2);
    expect(spread.find((shard) => shard.shard === 0)).toMatchObject({ shard: 0, connections: 1, users: 1 });

    const everyone = [before, ...after];
    const heard = everyone.map((joined) => record(joined.socket, "new_message"));
    const ids: number[] = [];
    for (let index = 0; index < 20; index++) {
      const sender = everyone[index % everyone.length]!;
      if (!sender.response["user"]) continue;
      const [error, message] = await request(sender.socket, "new_message", { text: `round ${index}` });
      expect(error).toBeNull();
      ids.push((message as { id: number }).id);
    }
    await admin("PATCH", "/apps/1", { shards: 1 });
    const back = await join(server.url, "bob");
    expect(shardOf(back.socket)).toBe(0);
    const [, last] = await request(back.socket, "new_message", { text: "after going back to one shard" });
    ids.push((last as { id: number }).id);
    // Each listener has every message once its sentinel, made after them all, has arrived: nothing late, nothing twice.
    const sentinelId = await sentinel(back.socket, everyone.map((joined) => joined.socket));
    for (const seen of heard) expect((seen["new_message"] as Array<{ id: number }>).map((message) => message.id)).toEqual([...ids, sentinelId]);
    for (const joined of [...everyone, back]) joined.socket.disconnect();
  });
});

describe("on four shards", () => {
  beforeAll(async () => {
    await admin("PATCH", "/apps/1", { shards: 4 });
  });

  afterAll(async () => {
    await admin("PATCH", "/apps/1", { shards: 1 });
  });

  it("counts a user with tabs on two shards as one presence", async () => {
    const watcher = await join(server.url, "owner");
    const presence = record(watcher.socket, "user_joined", "user_left");
    const tab1 = await join(server.url, "alice");
    const tab2 = await joinOnAnotherShard("alice", (shard) => shard === shardOf(tab1.socket));
    expect(tab2.response["chat"]).toMatchObject({ userlist: { alice: { uname: "alice" } } });
    // The watcher's own message, made by the room after both joins: once it is back, so is any user_joined.
    await sentinel(watcher.socket, [watcher.socket]);
    expect(presence["user_joined"]).toEqual([{ uname: "alice", auth_id: 3, role: "MEMBER" }]);
    tab1.socket.disconnect();
    // Once tab1's shard no longer holds it, its departure is on its way to the room; a sentinel after that.
    await untilConnections(server, adminToken, 2);
    await sentinel(watcher.socket, [watcher.socket]);
    expect(presence["user_left"]).toEqual([]);
    const left = next(watcher.socket, "user_left");
    tab2.socket.disconnect();
    expect(await left).toEqual({ uname: "alice" });
    watcher.socket.disconnect();
  });

  it("sends a deposit to that user's connections on every shard and nobody else's", async () => {
    const tab1 = await join(server.url, "alice", ["DEPOSITS"]);
    const tab2 = await joinOnAnotherShard("alice", (shard) => shard === shardOf(tab1.socket), ["DEPOSITS"]);
    const bob = await join(server.url, "bob", ["DEPOSITS"]);
    const bobHeard = record(bob.socket, "unconfirmed_balance_change");
    const arrivals = [tab1, tab2].map((tab) => next(tab.socket, "unconfirmed_balance_change"));
    const response = await fetch(`${server.url}/v1/apps/1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ingestToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ id: `shard-deposit-${Date.now()}`, type: "unconfirmed_balance_change", auth_id: demoUser("alice").authId, balance: 42, diff: 42 }),
    });
    expect(response.status).toBe(202);
    expect(await Promise.all(arrivals)).toEqual([
      { balance: 42, diff: 42 },
      { balance: 42, diff: 42 },
    ]);
    // A deposit of bob's own, published after alice's arrived: once bob has it, he would have had hers.
    const bobSentinel = next(bob.socket, "unconfirmed_balance_change");
    const sentinelResponse = await fetch(`${server.url}/v1/apps/1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ingestToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ id: `shard-sentinel-${Date.now()}`, type: "unconfirmed_balance_change", auth_id: demoUser("bob").authId, balance: 7, diff: 7 }),
    });
    expect(sentinelResponse.status).toBe(202);
    expect(await bobSentinel).toEqual({ balance: 7, diff: 7 });
    expect(bobHeard["unconfirmed_balance_change"]).toEqual([{ balance: 7, diff: 7 }]);
    for (const joined of [tab1, tab2, bob]) joined.socket.disconnect();
  });

  it("keeps a long-polling session on its shard through every poll and the upgrade", async () => {
    const socket = await connect(server.url, { transports: ["polling", "websocket"] });
    const [error] = await request(socket, "auth", { app_id: 1, access_token: demoUser("mod").token, subscriptions: ["CHAT"] });
    expect(error).toBeNull();
    expect(shardOf(socket)).toBeGreaterThanOrEqual(1);
    await until(() => socket.io.engine.transport.name === "websocket");
    const [late] = await request(socket, "new_message", { text: "upgraded on a shard" });
    expect(late).toBeNull();
    socket.disconnect();
  });
});

describe("an app's ordering room under a burst", () => {
  it("takes a shard's calls in batches, within its rate: 200 clients connecting, authenticating and leaving at once reach it in a third as many requests", async () => {
    const app = (await admin("POST", "/apps", { name: "Burst" })).json["id"] as number;
    await admin("PATCH", `/apps/${app}`, { shards: 4 });
    const clients = 200;
    const sockets = await Promise.all(Array.from({ length: clients }, () => connect(server.url, { appId: app })));
    const answers = await Promise.all(sockets.map((socket) => request(socket, "auth", { app_id: app, subscriptions: ["CHAT"] })));
    expect(answers.every(([error]) => error === null)).toBe(true);
    for (const socket of sockets) socket.disconnect();
    await until(() => sockets.every((socket) => !socket.connected));
    const { json: stats } = await admin("GET", `/apps/${app}/stats`);
    const room = (stats["shards"] as Array<{ shard: number; requests_per_second: number; peak_requests_per_second: number }>).find((shard) => shard.shard === 0)!;
    // Each client's count, auth and leave, 600 calls, one at a time would be 600 requests to the room (342
    // before batches, measured). Batched and paced, the shards together stay within the room's rate.
    const requests = Math.round(room.requests_per_second * 60);
    expect(requests).toBeLessThanOrEqual(clients);
    expect(room.peak_requests_per_second).toBeLessThanOrEqual(ROOM_BATCHES_PER_SECOND);
  });
});
