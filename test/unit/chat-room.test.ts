import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from "jose";
import { describe, expect, it, vi } from "vitest";
import { accessTokenDigest } from "../../src/credentials.js";
import { serializedBytesBound } from "../../src/rpc-bytes.js";
import { ErrorCode } from "../../src/socketpot/errors.js";
import { RESUME_BYTES, RESUME_LIMIT, SessionEnd } from "../../src/socketpot/room.js";
import { ROOM_OPTIONS, USERS, memoryRoom, tokenOf } from "../support/memory-room.js";
import { MemoryApp, type RecordingClient } from "../support/memory-room.js";

const auth = (authId: number | null, subscriptions: string[] = ["CHAT"]) => ({
  app_id: 1,
  subscriptions,
  ...(authId === null ? {} : { access_token: tokenOf(authId) }),
});

async function joined(room: MemoryApp, client: RecordingClient, authId: number | null, subscriptions?: string[]) {
  const outcome = await room.auth(client, auth(authId, subscriptions));
  expect(outcome.ok).toBe(true);
  return outcome;
}

describe("ChatRoom auth", () => {
  it.each([
    ["not an object", "hello", /app_id/],
    ["missing app_id", { subscriptions: ["CHAT"] }, /app_id/],
    ["string app_id", { app_id: "1", subscriptions: ["CHAT"] }, /app_id must be an integer/],
    ["fractional app_id", { app_id: 1.5, subscriptions: ["CHAT"] }, /app_id must be an integer/],
    ["missing subscriptions", { app_id: 1 }, /subscriptions/],
    ["empty subscriptions", { app_id: 1, subscriptions: [] }, /at least one/],
    ["unknown subscription", { app_id: 1, subscriptions: ["CHAT", "NEWS"] }, /subscriptions/],
    ["repeated subscription", { app_id: 1, subscriptions: ["CHAT", "CHAT"] }, /repeat/],
    ["non-UUID token", { app_id: 1, subscriptions: ["CHAT"], access_token: "letmein" }, /access_token must be a UUID/],
    ["numeric token", { app_id: 1, subscriptions: ["CHAT"], access_token: 42 }, /access_token/],
  ])("rejects %s with INVALID_AUTH, an explanation and a disconnect", async (_, payload, reason) => {
    const { room, host } = memoryRoom();
    const outcome = await room.auth(host.connect("c1"), payload);
    expect(outcome).toMatchObject({ ok: false, error: ErrorCode.INVALID_AUTH, clientBug: true, disconnect: true });
    if (!outcome.ok) expect(outcome.reason).toMatch(reason);
  });

  it("rejects an app_id other than the connection's", async () => {
    const { room, host } = memoryRoom();
    const outcome = await room.auth(host.connect("c1"), { ...auth(3), app_id: 2 });
    expect(outcome).toMatchObject({ ok: false, error: ErrorCode.INVALID_AUTH, disconnect: true });
    if (!outcome.ok) expect(outcome.reason).toMatch(/does not match/);
  });

  it("answers a valid token with the user, the echoed subscriptions, history and userlist", async () => {
    const { room, host } = memoryRoom();
    const outcome = await joined(room, host.connect("c1"), 3, ["CHAT", "DEPOSITS", "BETS"]);
    expect(outcome).toEqual({
      ok: true,
      value: {
        user: USERS.alice,
        subscriptions: ["CHAT", "DEPOSITS", "BETS"],
        chat: { messages: [], userlist: { alice: USERS.alice } },
      },
      granted: { session: { user: USERS.alice, subscriptions: ["CHAT", "DEPOSITS", "BETS"], tokenDigest: await accessTokenDigest(tokenOf(3)) }, mark: { epoch: expect.any(String), seq: 0, offset: null } },
      after: { epoch: expect.any(String), seq: 1, offset: null },
    });
  });

  it("accepts an upper-case token and a null token", async () => {
    const { room, host } = memoryRoom();
    const upper = await room.auth(host.connect("c1"), { ...auth(null), access_token: tokenOf(4).toUpperCase() });
    expect(upper).toMatchObject({ ok: true, value: { user: USERS.bob } });
    const nullToken = await room.auth(host.connect("c2"), { ...auth(null), access_token: null });
    expect(nullToken).toMatchObject({ ok: true, value: { subscriptions: ["CHAT"] } });
  });

  it.each([
    ["unknown", (store: ReturnType<typeof memoryRoom>["store"]) => void store, "11111111-1111-4111-8111-111111111111"],
    ["expired", (store: ReturnType<typeof memoryRoom>["store"]) => store.addToken(tokenOf(9), 1, USERS.alice, { expiresAt: 1 }), tokenOf(9)],
    ["revoked", (store: ReturnType<typeof memoryRoom>["store"]) => store.addToken(tokenOf(9), 1, USERS.alice, { revoked: true }), tokenOf(9)],
    ["other-app", (store: ReturnType<typeof memoryRoom>["store"]) => store.addToken(tokenOf(9), 2, USERS.alice), tokenOf(9)],
  ])("treats an %s token as anonymous and drops DEPOSITS", async (_, prepare, token) => {
    const { room, host, store } = memoryRoom();
    prepare(store);
    const outcome = await room.auth(host.connect("c1"), { app_id: 1, subscriptions: ["DEPOSITS", "CHAT"], access_token: token });
    expect(outcome).toEqual({
      ok: true,
      value: { subscriptions: ["CHAT"], chat: { messages: [], userlist: {} } },
      granted: { session: { user: null, subscriptions: ["CHAT"] }, mark: expect.objectContaining({ seq: 0 }) },
      after: expect.objectContaining({ seq: 0 }),
    });
  });

  it("reads nothing from storage on a warm auth: token lookups and history are kept in the room", async () => {
    const { room, host, store } = memoryRoom();
    await joined(room, host.connect("c1"), 3);
    const [tokenReads, historyReads] = [store.tokenReads, store.reads];
    store.failing = true;
    await joined(room, host.connect("c2"), 3);
    expect([store.tokenReads, store.reads]).toEqual([tokenReads, historyReads]);
  });

  it("reads the mutes when a user authenticates, so that its first message waits for no storage read", async () => {
    const { room, host, store } = memoryRoom();
    await joined(room, host.connect("anonymous"), null);
    expect(store.muteReads).toBe(0);
    const client = host.connect("c1");
    await joined(room, client, 3);
    expect(store.muteReads).toBe(1);
    expect(await room.newMessage(client, { text: "hi" })).toMatchObject({ ok: true });
    expect(store.muteReads).toBe(1);
  });

  it("reads a token again after it is forgotten (revoked) or its lookup is a minute old", async () => {
    const { room, host, store } = memoryRoom();
    await joined(room, host.connect("c1"), 3);
    store.addToken(tokenOf(3), 1, USERS.alice, { revoked: true });
    room.chat.forgetToken(await accessTokenDigest(tokenOf(3).toUpperCase()));
    expect(await room.auth(host.connect("c2"), auth(3))).toMatchObject({ ok: true, value: { subscriptions: ["CHAT"] } });
    expect(store.tokenReads).toBe(2);

    // Bob's lookup is cached; revoked behind the room's back, it is trusted until it is a minute old, not longer.
    expect(await room.auth(host.connect("c3"), auth(4))).toMatchObject({ ok: true, value: { user: USERS.bob } });
    store.addToken(tokenOf(4), 1, USERS.bob, { revoked: true });
    host.clock += 60_000;
    expect(await room.auth(host.connect("c4"), auth(4))).toMatchObject({ ok: true, value: { user: USERS.bob } });
    expect(store.tokenReads).toBe(3);
    host.clock += 1;
    const stale = await room.auth(host.connect("c5"), auth(4));
    expect(stale.ok).toBe(true);
    expect(stale.ok && stale.value).not.toHaveProperty("user");
    expect(store.tokenReads).toBe(4);
  });

  it("holds a revocation that overtook a lookup: that auth and the next are anonymous, and the next reads again", async () => {
    const { room, host, store } = memoryRoom();
    let reply!: () => void;
    store.grantReply = new Promise((resolve) => (reply = resolve));
    const reading = room.auth(host.connect("c1"), auth(3));
    await vi.waitFor(() => expect(store.tokenReads).toBe(1));
    // Revoked after D1 answered, before the answer reached the room.
    store.addToken(tokenOf(3), 1, USERS.alice, { revoked: true });
    room.chat.forgetToken(await accessTokenDigest(tokenOf(3)));
    reply();
    store.grantReply = null;
    const overtaken = await reading;
    expect(overtaken.ok && overtaken.value).not.toHaveProperty("user");
    const after = await room.auth(host.connect("c2"), auth(3));
    expect(after.ok && after.value).not.toHaveProperty("user");
    expect(store.tokenReads).toBe(2);
  });

  it("checks a cached token's expiry on every use", async () => {
    const { room, host, store } = memoryRoom();
    store.addToken(tokenOf(9), 1, USERS.alice, { expiresAt: host.clock + 1_000 });
    expect(await room.auth(host.connect("c1"), { ...auth(null), access_token: tokenOf(9) })).toMatchObject({ value: { user: USERS.alice } });
    host.clock += 1_000;
    const later = await room.auth(host.connect("c2"), { ...auth(null), access_token: tokenOf(9) });
    expect(later).toMatchObject({ ok: true, value: { subscriptions: ["CHAT"] } });
    expect(later).not.toMatchObject({ value: { user: USERS.alice } });
  });

  it("answers, then disconnects, when no subscription remains", async () => {
    const { room, host } = memoryRoom();
    const client = host.connect("c1");
    const outcome = await room.auth(client, auth(null, ["DEPOSITS"]));
    expect(outcome).toEqual({ ok: true, value: { subscriptions: [] }, disconnect: true, after: expect.objectContaining({ seq: 0 }) });
    expect(client.session).toBeNull();
  });

  it("refuses a second auth, also while the first is still running", async () => {
    const { room, host } = memoryRoom();
    const client = host.connect("c1");
    const [first, second] = await Promise.all([room.auth(client, auth(3)), room.auth(client, auth(3))]);
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({ ok: false, error: ErrorCode.ALREADY_AUTHENTICATED, clientBug: true });
    expect(await room.auth(client, auth(3))).toMatchObject({ error: ErrorCode.ALREADY_AUTHENTICATED });
  });

  it("answers INTERNAL_ERROR when the token lookup fails, and lets the client try again", async () => {
    const { room, host, store } = memoryRoom();
    const client = host.connect("c1");
    store.failing = true;
    expect(await room.auth(client, auth(3))).toMatchObject({ ok: false, error: ErrorCode.INTERNAL_ERROR, clientBug: false });
    store.failing = false;
    expect((await room.auth(client, auth(3))).ok).toBe(true);
  });

  it("refuses other events before auth, and unknown events after", async () => {
    const { room, host } = memoryRoom();
    const client = host.connect("c1");
    expect(await room.request(client, "new_message", { text: "hi" })).toMatchObject({ error: ErrorCode.UNAUTHENTICATED });
    await joined(room, client, 3);
    expect(await room.request(client, "dance", {})).toMatchObject({ error: ErrorCode.UNKNOWN_EVENT, clientBug: true });
  });

  it("keeps an error's explanation short whatever the payload: three issues named, an event name quoted to 64 characters", async () => {
    const { room, host } = memoryRoom();
    const client = host.connect("c1");
    const name = "e".repeat(1_000_000);
    const before = await room.request(client, name, {});
    expect(before).toMatchObject({ error: ErrorCode.UNAUTHENTICATED });
    if (!before.ok) expect(before.reason).toHaveLength(`"${"e".repeat(64)}…"`.length + ' was sent before a successful auth; emit auth first and wait for its callback'.length);
    const invalid = await room.auth(client, { app_id: 1, subscriptions: Array.from({ length: 100_000 }, (_, i) => `S${i}`) });
    expect(invalid).toMatchObject({ error: ErrorCode.INVALID_AUTH });
    if (!invalid.ok) {
      expect(invalid.reason).toMatch(/; and 99997 more$/);
      expect(invalid.reason.length).toBeLessThan(400);
    }
    const other = host.connect("c2");
    await joined(room, other, 3);
    const unknown = await room.request(other, name, {});
    expect(unknown).toMatchObject({ error: ErrorCode.UNKNOWN_EVENT });
    if (!unknown.ok) expect(unknown.reason.length).toBeLessThan(160);
  });

  it("sets an auth deadline on arrival and disconnects with an explanation when it passes", async () => {
    const { room, host } = memoryRoom();
    const late = host.connect("late");
    late.authDeadline = null;
    room.arrive(late);
    expect(late.authDeadline).toBe(host.clock + 30_000);
    room.authExpired(late);
    expect(late.open).toBe(false);
    expect(late.events("client_error")).toEqual([expect.stringMatching(/auth/)]);

    const authed = host.connect("authed");
    await joined(room, authed, 3);
    room.authExpired(authed);
    expect(authed.open).toBe(true);
  });

  it("gives an auth that is under way more time instead of cutting it off", async () => {
    const { room, host } = memoryRoom();
    const client = host.connect("slow");
    const pending = room.auth(client, auth(3));
    room.authExpired(client);
    expect(client.open).toBe(true);
    expect(client.authDeadline).toBe(host.clock + 1_000);
    expect((await pending).ok).toBe(true);
  });
});

describe("ChatRoom chat", () => {
  it("stores a message, acks it, and broadcasts it to CHAT subscribers only", async () => {
    const { room, host, store } = memoryRoom();
    const alice = host.connect("a");
    const bob = host.connect("b");
    const watcher = host.connect("w");
    const banker = host.connect("d");
    await joined(room, alice, 3);
    await joined(room, bob, 4);
    await joined(room, watcher, null);
    await joined(room, banker, 4, ["DEPOSITS"]);

    const outcome = await room.newMessage(alice, { text: "  hello there  ", channel: "support" });
    const message = { id: 1, channel: "support", text: "hello there", created_at: new Date(host.clock).toISOString(), user: USERS.alice };
    expect(outcome).toEqual({ ok: true, value: message, after: expect.objectContaining({ seq: 3 }) });
    expect(store.messages).toHaveLength(1);
    for (const client of [alice, bob, watcher]) expect(client.events("new_message")).toEqual([message]);
    expect(banker.events("new_message")).toEqual([]);
  });

  it("defaults the channel to lobby", async () => {
    const { room, host } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    expect(await room.newMessage(alice, { text: "hi" })).toMatchObject({ value: { channel: "lobby" } });
    expect(await room.newMessage(alice, { text: "hi", channel: null })).toMatchObject({ value: { channel: "lobby" } });
  });

  it("refuses anonymous senders with FORBIDDEN", async () => {
    const { room, host, store } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, null);
    expect(await room.newMessage(watcher, { text: "hi" })).toMatchObject({ ok: false, error: ErrorCode.FORBIDDEN, clientBug: true });
    expect(store.messages).toEqual([]);
  });

  it.each([
    ["a string payload", "hello", /object/],
    ["no text", {}, /text/],
    ["numeric text", { text: 5 }, /text must be a string/],
    ["blank text", { text: "   " }, /empty/],
    ["301 characters", { text: "x".repeat(301) }, /at most 300/],
    ["a newline", { text: "two\nlines" }, /control/],
    ["a NUL", { text: "nul\u0000byte" }, /control/],
    ["a lone surrogate", { text: "bad \ud800 half" }, /Unicode/],
    ["an upper-case channel", { text: "hi", channel: "Lobby" }, /channel/],
    ["a 41-character channel", { text: "hi", channel: "c".repeat(41) }, /channel/],
    ["an empty channel", { text: "hi", channel: "" }, /channel/],
    ["a channel with a space", { text: "hi", channel: "a b" }, /channel/],
    ["a numeric channel", { text: "hi", channel: 7 }, /channel/],
    ["a 3 MB text", { text: "x".repeat(3_000_000) }, /at most 300/],
  ])("refuses %s with INVALID_MESSAGE and stores nothing", async (_, payload, reason) => {
    const { room, host, store } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    const outcome = await room.newMessage(alice, payload);
    expect(outcome).toMatchObject({ ok: false, error: ErrorCode.INVALID_MESSAGE, clientBug: true });
    if (!outcome.ok) expect(outcome.reason).toMatch(reason);
    expect(store.messages).toEqual([]);
    expect(alice.events("new_message")).toEqual([]);
  });

  it("accepts 300 characters counted as code points, emoji and all", async () => {
    const { room, host } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    expect((await room.newMessage(alice, { text: "🎲".repeat(300) })).ok).toBe(true);
    expect((await room.newMessage(alice, { text: "<script>alert(1)</script> ∑ é" })).ok).toBe(true);
  });

  it("rate-limits each user to a burst of 5, refilled at 1 per second", async () => {
    const { room, host } = memoryRoom();
    const alice = host.connect("a");
    const aliceTab = host.connect("a2");
    const bob = host.connect("b");
    await joined(room, alice, 3);
    await joined(room, aliceTab, 3);
    await joined(room, bob, 4);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await room.newMessage(i % 2 ? aliceTab : alice, { text: `m${i}` }));
    expect(results.map((result) => (result.ok ? "ok" : result.error))).toEqual(["ok", "ok", "ok", "ok", "ok", ErrorCode.RATE_LIMITED]);
    expect((await room.newMessage(bob, { text: "me too" })).ok).toBe(true);
    host.clock += 1_000;
    expect((await room.newMessage(alice, { text: "later" })).ok).toBe(true);
  });

  it("answers INTERNAL_ERROR and broadcasts nothing when storing fails", async () => {
    const { room, host, store } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    await room.newMessage(alice, { text: "first" });
    store.failing = true;
    expect(await room.newMessage(alice, { text: "lost?" })).toMatchObject({ ok: false, error: ErrorCode.INTERNAL_ERROR });
    expect(alice.events("new_message")).toHaveLength(1);
  });

  it("answers INTERNAL_ERROR when storage does not answer in time, and keeps storing the next messages", async () => {
    const { room, host, store } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    store.writeReply = new Promise(() => {});
    const hung = room.newMessage(alice, { text: "into the void" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    host.advance(ROOM_OPTIONS.storageTimeoutMs);
    expect(await hung).toMatchObject({ ok: false, error: ErrorCode.INTERNAL_ERROR });
    expect(alice.events("new_message")).toEqual([]);

    store.writeReply = null;
    host.advance(1_000);
    const next = await room.newMessage(alice, { text: "storage is back" });
    expect(next).toMatchObject({ ok: true, value: { text: "storage is back" } });
    expect(alice.events("new_message")).toEqual([(next as { value: unknown }).value]);
  });

  it("returns the latest 100 messages, oldest first, read from storage once", async () => {
    const { room, host, store } = memoryRoom();
    for (let i = 1; i <= 120; i++) await store.write(1, [{ message: { channel: "lobby", text: `old ${i}`, createdAt: i, user: USERS.bob } }]);
    const alice = host.connect("a");
    await joined(room, alice, 3);
    const newer = await room.newMessage(alice, { text: "newest" });
    const outcome = await room.auth(host.connect("late"), auth(4));
    if (!outcome.ok || !outcome.value.chat || !newer.ok) throw new Error("auth failed");
    const { messages } = outcome.value.chat;
    expect(messages).toHaveLength(100);
    expect(messages[0]?.text).toBe("old 22");
    expect(messages.at(-1)).toEqual(newer.value);
    expect(store.reads).toBe(1);
  });
});

describe("ChatRoom resume", () => {
  it("returns only the messages after resume_from, from the cache when it reaches back that far", async () => {
    const { room, host, store } = memoryRoom();
    const alice = host.connect("a");
    await joined(room, alice, 3);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await room.newMessage(alice, { text: `m${i}` });
      if (outcome.ok) ids.push(outcome.value.id);
      host.clock += 1_000;
    }
    const reads = store.reads;
    const resumed = await room.auth(host.connect("b"), { ...auth(4), resume_from: ids[2] });
    expect(resumed).toMatchObject({ ok: true, value: { chat: { messages: [{ id: ids[3] }, { id: ids[4] }] } } });
    expect(resumed).not.toMatchObject({ value: { chat: { truncated: true } } });
    expect(store.reads).toBe(reads);
  });

  it("reads storage for a resume older than the cache, and says when it had to stop", async () => {
    const { room, host, store } = memoryRoom();
    for (let i = 1; i <= 1_150; i++) await store.write(1, [{ message: { channel: "lobby", text: `old ${i}`, createdAt: i, user: USERS.bob } }]);
    const near = await room.auth(host.connect("a"), { ...auth(3), resume_from: 1_000 });
    if (!near.ok || !near.value.chat) throw new Error("auth failed");
    expect(near.value.chat.messages.map((message) => message.id)).toEqual(Array.from({ length: 150 }, (_, i) => 1_001 + i));
    const far = await room.auth(host.connect("b"), { ...auth(4), resume_from: 0 });
    if (!far.ok || !far.value.chat) throw new Error("auth failed");
    expect(far.value.chat.messages).toHaveLength(RESUME_LIMIT);
    expect(far.value.chat.messages[0]?.id).toBe(1);
    expect(far.value.chat.truncated).toBe(true);
  });

  it("stops a resume of long messages at RESUME_BYTES of them, before RESUME_LIMIT", async () => {
    const { room, host, store } = memoryRoom();
    const text = "\u{1F3B2}".repeat(300);
    for (let i = 1; i <= RESUME_LIMIT + 50; i++) await store.write(1, [{ message: { channel: "lobby", text, createdAt: i, user: USERS.bob } }]);
    const far = await room.auth(host.connect("b"), { ...auth(4), resume_from: 0 });
    if (!far.ok || !far.value.chat) throw new Error("auth failed");
    const { messages } = far.value.chat;
    const bytes = messages.reduce((sum, message) => sum + serializedBytesBound(message), 0);
    expect(messages.length).toBeGreaterThan(100);
    expect(messages.length).toBeLessThan(RESUME_LIMIT);
    expect(bytes).toBeLessThanOrEqual(RESUME_BYTES);
    expect(bytes + serializedBytesBound(messages[0])).toBeGreaterThan(RESUME_BYTES);
    expect(messages.map((message) => message.id)).toEqual(Array.from({ length: messages.length }, (_, i) => 1 + i));
    expect(far.value.chat.truncated).toBe(true);
  });

  it.each([
    ["from the history", 120],
    ["from storage", 10],
  ])("gives a message stored during a resume %s once: live, not also in the response", async (_, resumeFrom) => {
    const { room, host, store } = memoryRoom();
    for (let i = 1; i <= 150; i++) await store.write(1, [{ message: { channel: "lobby", text: `old ${i}`, createdAt: i, user: USERS.bob } }]);
    const alice = host.connect("a");
    await joined(room, alice, 3);
    await joined(room, host.connect("warm"), 4);
    let reply!: () => void;
    store.writeReply = new Promise((resolve) => (reply = resolve));
    const sending = room.newMessage(alice, { text: "during the resume" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    const resuming = host.connect("b");
    const resumed = await room.auth(resuming, { ...auth(4), resume_from: resumeFrom });
    reply();
    const sent = await sending;
    if (!resumed.ok || !resumed.value.chat || !sent.ok) throw new Error("request failed");
    const inResponse = resumed.value.chat.messages.map((message) => message.id);
    const live = (resuming.events("new_message") as Array<{ id: number }>).map((message) => message.id);
    expect(inResponse.at(-1)).toBe(150);
    expect(live).toEqual([sent.value.id]);
  });

  it("keeps an anonymous resume within the history: no storage read, and truncated when it reaches further back", async () => {
    const { room, host, store } = memoryRoom();
    for (let i = 1; i <= 150; i++) await store.write(1, [{ message: { channel: "lobby", text: `old ${i}`, createdAt: i, user: USERS.bob } }]);
    await joined(room, host.connect("warm"), null);
    const reads = store.reads;
    const far = await room.auth(host.connect("a"), { ...auth(null), resume_from: 0 });
    if (!far.ok || !far.value.chat) throw new Error("auth failed");
    expect(far.value.chat.messages.map((message) => message.id)).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
    expect(far.value.chat.truncated).toBe(true);
    const near = await room.auth(host.connect("b"), { ...auth(null), resume_from: 140 });
    if (!near.ok || !near.value.chat) throw new Error("auth failed");
    expect(near.value.chat.messages.map((message) => message.id)).toEqual(Array.from({ length: 10 }, (_, i) => 141 + i));
    expect(near.value.chat.truncated).toBeUndefined();
    expect(store.reads).toBe(reads);
    // A user's resume from as far back still reads storage and gets everything.
    const user = await room.auth(host.connect("c"), { ...auth(3), resume_from: 0 });
    expect(user).toMatchObject({ ok: true, value: { chat: { messages: expect.arrayContaining([expect.objectContaining({ id: 1 })]) } } });
    expect(store.reads).toBe(reads + 1);
  });

  it("refuses a resume_from that is not a message id", async () => {
    const { room, host } = memoryRoom();
    expect(await room.auth(host.connect("a"), { ...auth(3), resume_from: "yesterday" })).toMatchObject({ error: ErrorCode.INVALID_AUTH });
  });
});

describe("ChatRoom presence", () => {
  it("announces a user's first CHAT connection and last departure once, across tabs", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, null);
    const tab1 = host.connect("t1");
    const tab2 = host.connect("t2");
    await joined(room, tab1, 3);
    const second = await joined(room, tab2, 3);
    expect(second).toMatchObject({ value: { chat: { userlist: { alice: USERS.alice } } } });
    expect(watcher.events("user_joined")).toEqual([USERS.alice]);
    expect(tab1.events("user_joined")).toEqual([]);

    tab1.open = false;
    room.leave(tab1);
    expect(watcher.events("user_left")).toEqual([]);
    tab2.open = false;
    room.leave(tab2);
    expect(watcher.events("user_left")).toEqual([{ uname: "alice" }]);
  });

  it("leaves anonymous and non-CHAT connections out of presence", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, 1);
    await joined(room, host.connect("anon"), null);
    await joined(room, host.connect("bets"), 4, ["BETS"]);
    expect(watcher.events("user_joined")).toEqual([]);
    const late = await room.auth(host.connect("late"), auth(2));
    expect(late).toMatchObject({ value: { chat: { userlist: { owner: USERS.owner, mod: USERS.mod } } } });
  });

  it("rebuilds presence from the sessions its shards report after a restart", async () => {
    const { room, host, store } = memoryRoom();
    const here = host.connect("t1");
    const elsewhere = host.connect("t3", 2);
    await joined(room, here, 3);
    await joined(room, elsewhere, 1);
    const woken = new MemoryApp(store, host);
    for (const shard of [0, 2]) woken.core.adopt(shard, room.snapshot(shard));
    const outcome = await woken.auth(host.connect("t2"), auth(4));
    expect(outcome).toMatchObject({ value: { chat: { userlist: { alice: USERS.alice, bob: USERS.bob, owner: USERS.owner } } } });
  });
});

describe("ChatRoom recovered sessions", () => {
  const aliceSession = { user: USERS.alice, subscriptions: ["CHAT" as const] };

  it("checks a saved session's token again: as it grants now, or no session once it is revoked, expired or missing", async () => {
    const { room, host, store } = memoryRoom();
    const granted = await joined(room, host.connect("alice"), 3);
    if (!granted.ok || !granted.granted) throw new Error("auth failed");
    const saved = granted.granted.session;
    expect(await room.chat.recheck(saved)).toEqual(saved);
    expect(await room.chat.recheck({ user: null, subscriptions: ["BETS"] })).toEqual({ user: null, subscriptions: ["BETS"] });
    // A session saved without its token's digest (before they were kept) is not trusted.
    expect(await room.chat.recheck(aliceSession)).toBeNull();

    store.tokens.get(tokenOf(3))!.revoked = true;
    room.chat.forgetToken(saved.tokenDigest!);
    expect(await room.chat.recheck(saved)).toBeNull();

    store.addToken(tokenOf(7), 1, USERS.alice, { expiresAt: host.clock + 1_000 });
    const expiring = await joined(room, host.connect("later"), 7);
    if (!expiring.ok || !expiring.granted) throw new Error("auth failed");
    host.clock += 1_000;
    expect(await room.chat.recheck(expiring.granted.session)).toBeNull();

    // A token that now stands for someone else (its row replaced) does not carry the session over.
    store.addToken(tokenOf(8), 1, USERS.mod);
    const other = await joined(room, host.connect("mod"), 8);
    if (!other.ok || !other.granted) throw new Error("auth failed");
    expect(await room.chat.recheck({ ...other.granted.session, user: USERS.alice })).toBeNull();
  });

  it("lets a recovered session go when its client left before it could be told, announcing the user's departure", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, null);
    const gone = host.connect("gone");
    const granted = room.chat.rejoin({ id: gone.id, shard: 0, session: null }, aliceSession);
    if (!granted) throw new Error("the room refused the session");
    expect(watcher.events("user_joined")).toEqual([USERS.alice]);
    gone.open = false;
    room.gateway(0).abandon(gone, { sid: "s", pid: "p", granted, missed: [] });
    await Promise.resolve();
    expect(room.chat.directory.session(gone.id)).toBeNull();
    expect(watcher.events("user_left")).toEqual([{ uname: "alice" }]);
  });

  it("caps sessions without a user, app-wide: one more anonymous auth is refused and closed, users still get in", async () => {
    const { room, host } = memoryRoom(1, { maxAnonymousSessions: 2 });
    const first = host.connect("anon1");
    await joined(room, first, null, ["BETS"]);
    await joined(room, host.connect("anon2", 2), null);
    const refused = await room.auth(host.connect("anon3"), auth(null, ["BETS"]));
    expect(refused).toMatchObject({ ok: false, error: ErrorCode.TOO_MANY_CONNECTIONS, disconnect: true });
    if (!refused.ok) expect(refused.reason).toMatch(/2 connections without a user/);
    await joined(room, host.connect("user"), 3);
    // A place freed is a place taken again; a recovered anonymous session counts like any other.
    first.open = false;
    room.leave(first);
    await joined(room, host.connect("anon4"), null);
    expect(room.chat.rejoin({ id: "anon5", shard: 0, session: null }, { user: null, subscriptions: ["BETS"] })).toBeNull();
  });

  it("makes a recovered client present again and answers its next auth once, like a first one", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, null);
    const back = host.connect("back");
    room.rejoin(back, aliceSession);
    expect(watcher.events("user_joined")).toEqual([USERS.alice]);

    const again = await room.auth(back, auth(3));
    expect(again).toMatchObject({ ok: true, value: { user: USERS.alice, chat: { userlist: { alice: USERS.alice } } } });
    expect(watcher.events("user_joined")).toEqual([USERS.alice]);
    expect(watcher.events("user_left")).toEqual([]);
    expect(await room.auth(back, auth(3))).toMatchObject({ ok: false, error: ErrorCode.ALREADY_AUTHENTICATED });
  });

  it("answers a recovered session's resume with no messages: it has them all, missed ones and live ones", async () => {
    const { room, host } = memoryRoom();
    const alice = host.connect("alice");
    await joined(room, alice, 3);
    await room.newMessage(alice, { text: "before the drop" });
    const back = host.connect("back");
    room.rejoin(back, aliceSession);
    await room.newMessage(alice, { text: "after the recovery, live" });
    expect(await room.auth(back, { ...auth(3), resume_from: 0 })).toMatchObject({ ok: true, value: { chat: { messages: [] } } });
    // Without resume_from it gets the history, as any first auth; a session recovered without CHAT resumes as usual.
    const again = host.connect("again");
    room.rejoin(again, aliceSession);
    expect(await room.auth(again, auth(3))).toMatchObject({ value: { chat: { messages: [{ text: "before the drop" }, { text: "after the recovery, live" }] } } });
    const bets = host.connect("bets");
    room.rejoin(bets, { user: USERS.alice, subscriptions: ["BETS"] });
    const resumed = await room.auth(bets, { ...auth(3), resume_from: 0 });
    expect(resumed).toMatchObject({ value: { chat: { messages: [{ text: "before the drop" }, { text: "after the recovery, live" }] } } });
  });

  it("moves presence when the auth after a recovery names another user or drops CHAT", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    await joined(room, watcher, null);
    const switched = host.connect("switched");
    room.rejoin(switched, aliceSession);
    await joined(room, switched, 4);
    expect(watcher.events("user_left")).toEqual([{ uname: "alice" }]);
    expect(watcher.events("user_joined")).toEqual([USERS.alice, USERS.bob]);

    const quiet = host.connect("quiet");
    room.rejoin(quiet, aliceSession);
    await joined(room, quiet, 3, ["BETS"]);
    expect(watcher.events("user_left")).toEqual([{ uname: "alice" }, { uname: "alice" }]);
  });
});

describe("ChatRoom moderation", () => {
  async function moderated() {
    const setup = memoryRoom();
    const clients = {
      owner: setup.host.connect("owner"),
      mod: setup.host.connect("mod"),
      alice: setup.host.connect("alice"),
      bob: setup.host.connect("bob"),
    };
    for (const [name, client] of Object.entries(clients)) await joined(setup.room, client, USERS[name as keyof typeof USERS].auth_id);
    return { ...setup, clients };
  }

  it("lets a MOD mute a MEMBER, with a stored and broadcast system message", async () => {
    const { room, host, store, clients } = await moderated();
    const outcome = await room.newMessage(clients.mod, { text: "/mute alice 10 mins", channel: "support" });
    const system = { id: 1, channel: "support", text: "mod muted alice for 10 minutes", created_at: new Date(host.clock).toISOString() };
    expect(outcome).toMatchObject({ ok: true, value: system });
    expect(clients.bob.events("new_message")).toEqual([system]);
    expect(store.mutes.get(USERS.alice.auth_id)).toBe(host.clock + 600_000);

    expect(await room.newMessage(clients.alice, { text: "let me speak" })).toMatchObject({ ok: false, error: ErrorCode.USER_IS_MUTED, clientBug: false });
    host.clock += 600_000;
    expect((await room.newMessage(clients.alice, { text: "I am back" })).ok).toBe(true);
  });

  it("lifts a mute with /unmute", async () => {
    const { room, clients } = await moderated();
    await room.newMessage(clients.owner, { text: "/mute bob 1d" });
    const outcome = await room.newMessage(clients.owner, { text: "/unmute BOB" });
    expect(outcome).toMatchObject({ ok: true, value: { text: "owner unmuted bob" } });
    expect((await room.newMessage(clients.bob, { text: "thanks" })).ok).toBe(true);
    expect(await room.newMessage(clients.owner, { text: "/unmute bob" })).toMatchObject({ error: ErrorCode.INVALID_COMMAND });
  });

  it.each([
    ["a MEMBER mutes a MEMBER", "alice", "/mute bob"],
    ["a MEMBER unmutes", "alice", "/unmute bob"],
    ["a MOD mutes an OWNER", "mod", "/mute owner"],
    ["a MOD mutes a MOD (itself)", "mod", "/mute mod"],
    ["an OWNER mutes itself", "owner", "/mute owner 5m"],
  ] as const)("answers FORBIDDEN when %s", async (_, actor, text) => {
    const { room, store, clients } = await moderated();
    expect(await room.newMessage(clients[actor], { text })).toMatchObject({ ok: false, error: ErrorCode.FORBIDDEN });
    expect(store.messages).toEqual([]);
    expect(store.mutes.size).toBe(0);
  });

  it("lets an OWNER mute a MOD", async () => {
    const { room, clients } = await moderated();
    expect(await room.newMessage(clients.owner, { text: "/mute mod 2 hours" })).toMatchObject({ value: { text: "owner muted mod for 2 hours" } });
    expect(await room.newMessage(clients.mod, { text: "hm" })).toMatchObject({ error: ErrorCode.USER_IS_MUTED });
  });

  it.each(["/mute", "/mute nobody", "/mute bob forever", "/mute bob 400d", "/unmute bob", "/ban bob forever", "/unban bob", "/kick", "/kick bob now", "/slow", "/slow 2h", "/slow off", "/warn bob"])(
    "answers INVALID_COMMAND for %j",
    async (text) => {
      const { room, store, clients } = await moderated();
      expect(await room.newMessage(clients.owner, { text })).toMatchObject({ ok: false, error: ErrorCode.INVALID_COMMAND });
      expect(store.messages).toEqual([]);
    },
  );

  it.each([
    ["a MEMBER bans", "alice", "/ban bob"],
    ["a MEMBER kicks", "alice", "/kick bob"],
    ["a MEMBER slows the channel", "alice", "/slow 10"],
    ["a MOD bans an OWNER", "mod", "/ban owner"],
    ["a MOD kicks itself", "mod", "/kick mod"],
  ] as const)("answers FORBIDDEN, and ends no session, when %s", async (_, actor, text) => {
    const { room, store, host, clients } = await moderated();
    expect(await room.newMessage(clients[actor], { text })).toMatchObject({ ok: false, error: ErrorCode.FORBIDDEN });
    expect([store.messages, store.bans.size, store.slowMode.size]).toEqual([[], 0, 0]);
    expect([...host.clients()].length).toBe(4);
  });

  it("bans from chat: the user is told why and disconnected, its auth refused until the ban ends or /unban lifts it", async () => {
    const { room, host, store, clients } = await moderated();
    const banned = await room.newMessage(clients.mod, { text: "/ban bob 1d" });
    expect(banned).toMatchObject({ ok: true, value: { text: "mod banned bob for 1 day" } });
    expect(clients.alice.events("new_message")).toEqual([expect.objectContaining({ text: "mod banned bob for 1 day" })]);
    expect(store.bans.get(USERS.bob.auth_id)).toBe(host.clock + 86_400_000);
    expect(clients.bob.events("client_error")).toEqual([SessionEnd.BANNED]);
    expect([clients.bob.open, clients.alice.open, clients.owner.open]).toEqual([false, true, true]);
    expect(clients.alice.events("user_left")).toEqual([{ uname: "bob" }]);
    expect(await room.auth(host.connect("bob-again"), auth(USERS.bob.auth_id))).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED, disconnect: true });

    expect(await room.newMessage(clients.mod, { text: "/unban bob" })).toMatchObject({ ok: true, value: { text: "mod unbanned bob" } });
    expect(store.bans.size).toBe(0);
    await joined(room, host.connect("bob-back"), USERS.bob.auth_id);

    expect(await room.newMessage(clients.owner, { text: "/ban bob" })).toMatchObject({ ok: true, value: { text: "owner banned bob" } });
    expect(store.bans.get(USERS.bob.auth_id)).toBeNull();
    host.clock += 400 * 86_400_000;
    expect(await room.auth(host.connect("bob-later"), auth(USERS.bob.auth_id))).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED });
  });

  it("kicks from chat: every session of the user ends, telling it why, and it may come back", async () => {
    const { room, host, store, clients } = await moderated();
    const secondTab = host.connect("alice-2", 1);
    await joined(room, secondTab, USERS.alice.auth_id);
    expect(await room.newMessage(clients.mod, { text: "/kick alice" })).toMatchObject({ ok: true, value: { text: "mod kicked alice" } });
    for (const tab of [clients.alice, secondTab]) expect([tab.open, tab.events("client_error")]).toEqual([false, [SessionEnd.KICKED]]);
    expect([clients.bob.open, clients.owner.open, clients.mod.open]).toEqual([true, true, true]);
    expect(store.bans.size).toBe(0);
    expect(await room.newMessage(clients.mod, { text: "/kick alice" })).toMatchObject({ ok: false, error: ErrorCode.INVALID_COMMAND });
    await joined(room, host.connect("alice-back"), USERS.alice.auth_id);
  });

  it("slows the command's channel for MEMBERs from chat, and /slow off ends it", async () => {
    const { room, host, store, clients } = await moderated();
    expect(await room.newMessage(clients.mod, { text: "/slow 30", channel: "lobby" })).toMatchObject({ ok: true, value: { text: "mod slowed lobby to one message per 30 seconds", channel: "lobby" } });
    expect(store.slowMode.get("lobby")).toBe(30_000);
    expect((await room.newMessage(clients.alice, { text: "one" })).ok).toBe(true);
    expect(await room.newMessage(clients.alice, { text: "two" })).toMatchObject({ ok: false, error: ErrorCode.RATE_LIMITED });
    expect((await room.newMessage(clients.alice, { text: "elsewhere", channel: "offtopic" })).ok).toBe(true);
    expect((await room.newMessage(clients.mod, { text: "mods are exempt" })).ok).toBe(true);
    host.clock += 1_000;
    expect(await room.newMessage(clients.owner, { text: "/slow off" })).toMatchObject({ ok: true, value: { text: "owner ended slow mode in lobby" } });
    expect(store.slowMode.size).toBe(0);
    expect((await room.newMessage(clients.alice, { text: "free again" })).ok).toBe(true);
  });
});

describe("ChatRoom signed tokens", () => {
  async function signedApp() {
    const app = memoryRoom();
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    app.store.signing.set(1, [{ ...(await exportJWK(publicKey)), kid: "k1" }]);
    const now = () => Math.floor(app.host.now() / 1000);
    const sign = (claims: JWTPayload, kid = "k1") =>
      new SignJWT({ aud: "app:1", sub: "77", name: "zed", role: "MOD", iat: now(), exp: now() + 600, ...claims }).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey);
    return { ...app, sign };
  }

  it("authenticates a token the app signed as its claims, reading the keys once for many auths", async () => {
    const { room, host, store, sign } = await signedApp();
    const reads = vi.spyOn(store, "signingKeys");
    for (let i = 0; i < 5; i++) {
      const outcome = await room.auth(host.connect(`c${i}`), { app_id: 1, subscriptions: ["CHAT"], access_token: await sign({}) });
      expect(outcome).toMatchObject({ ok: true, value: { user: { uname: "zed", auth_id: 77, role: "MOD" } } });
    }
    expect(reads).toHaveBeenCalledTimes(1);
    expect(store.tokenReads).toBe(0);
  });

  it("leaves a connection anonymous when its signed token fails a check, as an unknown UUID token does", async () => {
    const { room, host, sign } = await signedApp();
    for (const token of [await sign({ aud: "app:2" }), await sign({}, "k2"), await sign({ exp: Math.floor(host.now() / 1000) - 1 }), "abc.def.ghi"]) {
      const outcome = await room.auth(host.connect(`c-${token.length}-${Math.random()}`), { app_id: 1, subscriptions: ["CHAT"], access_token: token });
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.value.user).toBeUndefined();
    }
    const malformed = await room.auth(host.connect("m"), { app_id: 1, subscriptions: ["CHAT"], access_token: "not a token" });
    expect(malformed).toMatchObject({ ok: false, error: ErrorCode.INVALID_AUTH });
  });

  it("lets a moderator mute a user known only by a signed token, found in the chat by name", async () => {
    const { room, host, sign } = await signedApp();
    const zed = host.connect("z");
    expect(await room.auth(zed, { app_id: 1, subscriptions: ["CHAT"], access_token: await sign({ role: "MEMBER" }) })).toMatchObject({ ok: true });
    const mod = host.connect("m");
    await joined(room, mod, USERS.mod.auth_id);
    expect(await room.request(mod, "new_message", { text: "/mute Zed 1m" })).toMatchObject({ ok: true, value: { text: "mod muted zed for 1 minute" } });
    expect(await room.request(zed, "new_message", { text: "hello?" })).toMatchObject({ ok: false, error: ErrorCode.USER_IS_MUTED });
    expect(await room.request(mod, "new_message", { text: "/mute nobody_here" })).toMatchObject({ ok: false, error: ErrorCode.INVALID_COMMAND });
  });

  it("recovers a signed session while its token lasts and its key is registered, and not after", async () => {
    const { room, host, store, sign } = await signedApp();
    const granted = await room.auth(host.connect("c"), { app_id: 1, subscriptions: ["CHAT"], access_token: await sign({}) });
    if (!granted.ok || !granted.granted) throw new Error("auth failed");
    const saved = granted.granted.session;
    expect(saved.signedBy).toEqual({ kid: "k1", expiresAt: expect.any(Number) });
    expect(await room.chat.recheck(saved)).toEqual(saved);
    expect(await room.chat.recheck({ ...saved, signedBy: { kid: "k1", expiresAt: host.now() - 1 } })).toBeNull();
    store.signing.set(1, []);
    room.chat.forgetSigningKeys();
    expect(await room.chat.recheck(saved)).toBeNull();
  });
});

describe("sessions the app ends", () => {
  it("ends every session matched, on every shard, telling each client why; no other session", async () => {
    const { room, host } = memoryRoom();
    const tabs = [host.connect("a0", 0), host.connect("a1", 1), host.connect("a2", 2)];
    const bob = host.connect("b", 1);
    for (const tab of tabs) await joined(room, tab, 3);
    await joined(room, bob, 4);
    const ended = await room.core.endSessions((session) => session.user?.auth_id === 3, SessionEnd.DISCONNECTED);
    expect(ended).toBe(3);
    for (const tab of tabs) {
      expect(tab.open).toBe(false);
      expect(tab.events("client_error")).toEqual([SessionEnd.DISCONNECTED]);
    }
    expect(bob.open).toBe(true);
    expect(bob.events("client_error")).toEqual([]);
    expect(await room.core.endSessions((session) => session.user?.auth_id === 99, SessionEnd.DISCONNECTED)).toBe(0);
  });
});

describe("ChatRoom bans", () => {
  it("refuses a banned user's auth and closes the connection, until the ban ends; its recovered session is not given back", async () => {
    const { room, host, store, chat } = memoryRoom();
    store.bans.set(3, host.now() + 60_000);
    const refused = await room.auth(host.connect("a"), auth(3));
    expect(refused).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED, disconnect: true, clientBug: false });
    if (!refused.ok) expect(refused.reason).toMatch(/^you are banned from this app until \d{4}-/);
    expect((await room.auth(host.connect("b"), auth(4))).ok).toBe(true);
    expect(await chat.recheck({ user: USERS.alice, subscriptions: ["CHAT"], tokenDigest: await accessTokenDigest(tokenOf(3)) })).toBeNull();
    host.advance(60_001);
    expect((await room.auth(host.connect("c"), auth(3))).ok).toBe(true);
    await chat.ban(3, null);
    expect(await room.auth(host.connect("d"), auth(3))).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED, reason: "you are banned from this app" });
    await chat.unban(3);
    expect((await room.auth(host.connect("e"), auth(3))).ok).toBe(true);
  });
});

describe("ChatRoom slow mode", () => {
  it("holds a MEMBER to one message per interval in a slowed channel, exempts MODs and OWNERs, and leaves other channels be", async () => {
    const { room, host, store, chat } = memoryRoom();
    store.slowMode.set("lobby", 10_000);
    const alice = host.connect("a");
    const mod = host.connect("m");
    await joined(room, alice, 3);
    await joined(room, mod, USERS.mod.auth_id);
    expect((await room.request(alice, "new_message", { text: "first" })).ok).toBe(true);
    const second = await room.request(alice, "new_message", { text: "second" });
    expect(second).toMatchObject({ ok: false, error: ErrorCode.RATE_LIMITED, reason: "slow mode in lobby: one message every 10 s; wait 10 s" });
    expect((await room.request(alice, "new_message", { channel: "other", text: "elsewhere" })).ok).toBe(true);
    for (let i = 0; i < 3; i++) expect((await room.request(mod, "new_message", { text: `mod ${i}` })).ok).toBe(true);
    host.advance(10_000);
    expect((await room.request(alice, "new_message", { text: "later" })).ok).toBe(true);
    await chat.setSlowMode("lobby", null);
    expect((await room.request(alice, "new_message", { text: "free again" })).ok).toBe(true);
  });
});

describe("ChatRoom sessions whose credential ended", () => {
  it("refuses a message from a session whose user was banned, or whose token was revoked, when its shard did not end it", async () => {
    const { room, host, chat } = memoryRoom();
    const alice = host.connect("a", 1);
    const bob = host.connect("b", 2);
    await joined(room, alice, 3);
    await joined(room, bob, 4);
    await chat.ban(3, null);
    expect(await room.request(alice, "new_message", { text: "still here?" })).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED, disconnect: true });
    chat.forgetToken(await accessTokenDigest(tokenOf(4)));
    expect(await room.request(bob, "new_message", { text: "and me?" })).toMatchObject({
      ok: false,
      error: ErrorCode.FORBIDDEN,
      reason: SessionEnd.TOKEN_REVOKED,
      disconnect: true,
    });
  });

  it("refuses an auth that a ban overtook while it read storage", async () => {
    const { room, host, store, chat } = memoryRoom();
    let reply!: () => void;
    store.grantReply = new Promise((resolve) => (reply = resolve));
    const reading = room.auth(host.connect("c1"), auth(3));
    await vi.waitFor(() => expect(store.tokenReads).toBe(1));
    await chat.ban(3, null);
    reply();
    expect(await reading).toMatchObject({ ok: false, error: ErrorCode.USER_IS_BANNED, disconnect: true });
  });
});

describe("ChatRoom counters", () => {
  it("counts a known load exactly: sessions and failed auths, messages taken, rate-limited and refused", async () => {
    const { room, host, store } = memoryRoom(1, { chatRateBurst: 2 });
    store.mutes.set(USERS.bob.auth_id, host.clock + 60_000);
    const [alice, bob] = [host.connect("alice"), host.connect("bob")];
    await joined(room, alice, USERS.alice.auth_id);
    await joined(room, bob, USERS.bob.auth_id);
    await joined(room, host.connect("anonymous"), null);
    // Two failures: a token that grants nothing (the connection stays, anonymous), and a malformed auth.
    await room.auth(host.connect("unknown"), { app_id: 1, subscriptions: ["CHAT"], access_token: "11111111-1111-4111-8111-111111111111" });
    await room.auth(host.connect("malformed"), { app_id: "one" });
    for (const text of ["one", "two", "three"]) await room.newMessage(alice, { text });
    await room.newMessage(bob, { text: "muted" });
    await room.newMessage(alice, { text: 42 });
    expect(Object.fromEntries(room.counted)).toEqual({ sessions_started: 4, auth_failures: 2, chat_messages: 2, rate_limited: 1, refused_messages: 2 });

    // Not counted: a repeated auth, the auth of a session just recovered (its recovery is what counts), the
    // server's own failures.
    expect(await room.auth(alice, auth(USERS.alice.auth_id))).toMatchObject({ ok: false, error: ErrorCode.ALREADY_AUTHENTICATED });
    const back = host.connect("alice-back");
    room.rejoin(back, alice.session!);
    await joined(room, back, USERS.alice.auth_id);
    host.clock += 60_000;
    store.failing = true;
    expect(await room.newMessage(bob, { text: "while storage is down" })).toMatchObject({ ok: false, error: ErrorCode.INTERNAL_ERROR });
    expect(Object.fromEntries(room.counted)).toEqual({ sessions_started: 4, auth_failures: 2, chat_messages: 2, rate_limited: 1, refused_messages: 2 });
  });
});
