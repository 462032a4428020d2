import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, join, next, pause, record, request, sentinel, until, type Client } from "../support/clients.js";
import { demoUser, localSecret, startTestServer, untilConnections, type TestServer } from "../support/server.js";

let server: TestServer;
let adminToken: string;
const sockets: Client[] = [];
const track = <T extends { socket: Client }>(joined: T): T => {
  sockets.push(joined.socket);
  return joined;
};

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ AUTH_TIMEOUT_MS: "1500", ADMIN_TOKEN: adminToken });
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.disconnect();
});

afterAll(async () => {
  await server?.stop();
});

/** Waits until the server no longer lists `uname` as present (earlier tests' connections close asynchronously). */
async function untilAbsent(uname: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await join(server.url, null);
    probe.socket.disconnect();
    if (!(probe.response["chat"] as { userlist: Record<string, unknown> }).userlist[uname]) return;
    await pause(100);
  }
  throw new Error(`${uname} stayed present`);
}

describe("chat over socket.io-client 4.x (WebSocket transport)", () => {
  it("lets two users chat across two connections, each message stored and acked", async () => {
    const alice = track(await join(server.url, "alice"));
    const bob = track(await join(server.url, "bob"));
    const bobGets = next(bob.socket, "new_message");
    const [error, stored] = await request(alice.socket, "new_message", { text: "hi bob", channel: "games" });
    expect(error).toBeNull();
    expect(stored).toMatchObject({
      channel: "games",
      text: "hi bob",
      user: { uname: "alice", auth_id: 3, role: "MEMBER" },
    });
    expect(new Date((stored as { created_at: string }).created_at).toISOString()).toBe((stored as { created_at: string }).created_at);
    expect(await bobGets).toEqual(stored);

    const aliceGets = next(alice.socket, "new_message");
    const [, reply] = await request(bob.socket, "new_message", { text: "hi alice" });
    expect(await aliceGets).toEqual(reply);
    expect(reply).toMatchObject({ channel: "lobby", user: { uname: "bob" } });
  });

  it("gives history (oldest first) and the userlist on auth", async () => {
    const owner = track(await join(server.url, "owner"));
    await request(owner.socket, "new_message", { text: "history one" });
    await request(owner.socket, "new_message", { text: "history two" });
    const mod = track(await join(server.url, "mod", ["CHAT", "DEPOSITS"]));
    const chat = mod.response["chat"] as { messages: Array<{ text: string; id: number }>; userlist: Record<string, unknown> };
    const texts = chat.messages.map((message) => message.text);
    expect(texts.indexOf("history one")).toBeLessThan(texts.indexOf("history two"));
    expect(texts.at(-1)).toBe("history two");
    expect(chat.userlist["owner"]).toEqual({ uname: "owner", auth_id: 1, role: "OWNER" });
    expect(chat.userlist["mod"]).toEqual({ uname: "mod", auth_id: 2, role: "MOD" });
    expect(mod.response["user"]).toEqual({ uname: "mod", auth_id: 2, role: "MOD" });
    expect(mod.response["subscriptions"]).toEqual(["CHAT", "DEPOSITS"]);
  });

  it("lets anonymous connections read but not send", async () => {
    const watcher = track(await join(server.url, null, ["CHAT", "DEPOSITS"]));
    expect(watcher.response["user"]).toBeUndefined();
    expect(watcher.response["subscriptions"]).toEqual(["CHAT"]);
    const alice = track(await join(server.url, "alice"));
    const heard = next(watcher.socket, "new_message");
    await request(alice.socket, "new_message", { text: "for everyone" });
    expect(await heard).toMatchObject({ text: "for everyone" });

    const clientError = next<string>(watcher.socket, "client_error");
    expect(await request(watcher.socket, "new_message", { text: "me too" })).toEqual(["FORBIDDEN"]);
    expect(await clientError).toMatch(/anonymous/);
  });

  it("announces presence once per user across two tabs", async () => {
    await untilAbsent("bob");
    const observer = track(await join(server.url, "owner"));
    const seen = record(observer.socket, "user_joined", "user_left");
    const tab1 = track(await join(server.url, "bob"));
    const tab2 = track(await join(server.url, "bob"));
    expect((tab2.response["chat"] as { userlist: Record<string, unknown> }).userlist["bob"]).toBeDefined();
    // The observer's own message, made by the room after both joins: once it is back, so is any user_joined.
    await sentinel(observer.socket, [observer.socket]);
    const joins = () => seen["user_joined"]?.filter((user) => (user as { uname: string }).uname === "bob") ?? [];
    const lefts = () => seen["user_left"]?.filter((user) => (user as { uname: string }).uname === "bob") ?? [];
    expect(joins()).toEqual([{ uname: "bob", auth_id: 4, role: "MEMBER" }]);

    tab1.socket.disconnect();
    // Once the server no longer holds tab1, its departure is handled; a sentinel after that.
    await untilConnections(server, adminToken, 2);
    await sentinel(observer.socket, [observer.socket]);
    expect(lefts()).toEqual([]);
    const left = next(observer.socket, "user_left");
    tab2.socket.disconnect();
    expect(await left).toEqual({ uname: "bob" });
  });

  it("disconnects anonymous-only subscriptions after answering", async () => {
    const socket = await connect(server.url);
    sockets.push(socket);
    const disconnected = next<string>(socket, "disconnect");
    expect(await request(socket, "auth", { app_id: 1, subscriptions: ["DEPOSITS"] })).toEqual([null, { subscriptions: [] }]);
    expect(await disconnected).toBe("io server disconnect");
  });

  it("answers invalid auth with client_error, INVALID_AUTH and a disconnect", async () => {
    const socket = await connect(server.url);
    sockets.push(socket);
    const clientError = next<string>(socket, "client_error");
    const disconnected = next<string>(socket, "disconnect");
    expect(await request(socket, "auth", { app_id: 1, subscriptions: ["EVERYTHING"] })).toEqual(["INVALID_AUTH"]);
    expect(await clientError).toMatch(/subscriptions/);
    expect(await disconnected).toBe("io server disconnect");
  });

  it("refuses an auth for another app than the connection's", async () => {
    const socket = await connect(server.url);
    sockets.push(socket);
    const clientError = next<string>(socket, "client_error");
    expect(await request(socket, "auth", { app_id: 2, subscriptions: ["CHAT"] })).toEqual(["INVALID_AUTH"]);
    expect(await clientError).toMatch(/app_id 2 does not match/);
  });

  it("refuses events before auth and a second auth", async () => {
    const socket = await connect(server.url);
    sockets.push(socket);
    expect(await request(socket, "new_message", { text: "too soon" })).toEqual(["UNAUTHENTICATED"]);
    const [error] = await request(socket, "auth", { app_id: 1, subscriptions: ["CHAT"] });
    expect(error).toBeNull();
    expect(await request(socket, "auth", { app_id: 1, subscriptions: ["CHAT"] })).toEqual(["ALREADY_AUTHENTICATED"]);
    expect(await request(socket, "shout", "hey")).toEqual(["UNKNOWN_EVENT"]);
  });

  it.each([
    ["empty text", { text: "  " }],
    ["301 characters", { text: "y".repeat(301) }],
    ["a bad channel", { text: "hi", channel: "NO SPACES" }],
    ["a 41-character channel", { text: "hi", channel: "a".repeat(41) }],
    ["a number for text", { text: 12 }],
    ["an array payload", ["hi"]],
    ["control characters", { text: "bell\u0007" }],
  ])("answers %s with INVALID_MESSAGE and a client_error", async (_, payload) => {
    const alice = track(await join(server.url, "alice"));
    const clientError = next<string>(alice.socket, "client_error");
    expect(await request(alice.socket, "new_message", payload)).toEqual(["INVALID_MESSAGE"]);
    expect(await clientError).toMatch(/invalid new_message/);
  });

  it("rate-limits a user to a burst of 5 messages, shared across tabs", async () => {
    const tab1 = track(await join(server.url, "mod"));
    const tab2 = track(await join(server.url, "mod"));
    const replies = await Promise.all(
      Array.from({ length: 7 }, (_, i) => request(i % 2 ? tab2.socket : tab1.socket, "new_message", { text: `burst ${i}` })),
    );
    const errors = replies.map(([error]) => error);
    expect(errors.filter((error) => error === null)).toHaveLength(5);
    expect(errors.filter((error) => error === "RATE_LIMITED")).toHaveLength(2);
  });

  it("sends client_error when a failed request had no ack", async () => {
    const watcher = track(await join(server.url, null));
    const clientError = next<string>(watcher.socket, "client_error");
    watcher.socket.emit("new_message", { text: "no ack" });
    expect(await clientError).toMatch(/anonymous/);
  });

  it("logs each connection's life as one JSON line when it ends, never a token", async () => {
    const before = server.output().length;
    const alice = await join(server.url, "alice", ["CHAT", "DEPOSITS"]);
    const sid = (alice.socket.io.engine as unknown as { id: string }).id;
    // A probe connection that opens and closes after alice authenticated: its line comes after anything alice's
    // connect could have logged. Opening and authenticating log nothing: the connect path stays free of log writes.
    const probe = await join(server.url, null);
    const probeSid = (probe.socket.io.engine as unknown as { id: string }).id;
    probe.socket.disconnect();
    await until(() => server.output().includes(probeSid));
    expect(server.output().slice(before)).not.toContain(sid);
    alice.socket.disconnect();
    await until(() => server.output().includes(`"sid":"${sid}"`));
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line["sid"] === sid)).toEqual([{
      event: "connection_closed",
      app_id: 1,
      sid,
      stack: "socket.io",
      eio: 4,
      transport: "websocket",
      auth_id: 3,
      subscriptions: ["CHAT", "DEPOSITS"],
      duration_ms: expect.any(Number),
      reason: "transport close",
    }]);
    expect(server.output()).not.toContain(demoUser("alice").token);
  });

  it("disconnects a connection that never authenticates, after the configured deadline", async () => {
    const connected = Date.now();
    const socket = await connect(server.url);
    sockets.push(socket);
    const clientError = next<string>(socket, "client_error", 5_000);
    const disconnected = next<string>(socket, "disconnect", 5_000);
    expect(await clientError).toMatch(/auth was not received in time/);
    // AUTH_TIMEOUT_MS is 1,500 here: not before it (the alarm may run up to a second late, never early).
    expect(Date.now() - connected).toBeGreaterThanOrEqual(1_500);
    expect(await disconnected).toBe("io server disconnect");
  });
});
