import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, next, pause, request } from "../support/clients.js";
import { PlainClient } from "../support/plain-client.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";

/** The plain-WebSocket protocol on the same rooms as socket.io clients. */
let server: TestServer;
let ingestToken: string;

beforeAll(async () => {
  ingestToken = await localSecret("INGEST_TOKEN");
  server = await startTestServer({ PING_INTERVAL_MS: "400", AUTH_TIMEOUT_MS: "1500", MAX_PAYLOAD_BYTES: "10000", INGEST_TOKEN: ingestToken });
});

afterAll(async () => {
  await server?.stop();
});

describe("plain WebSocket clients", () => {
  it("chat with socket.io clients and see each other's presence", async () => {
    const observer = await join(server.url, "owner");
    const joined = next(observer.socket, "user_joined");
    const plain = await PlainClient.joined(server.url, "alice");
    expect(await joined).toEqual({ uname: "alice", auth_id: 3, role: "MEMBER" });

    const socketIoHears = next(observer.socket, "new_message");
    const ack = await plain.request("chat", "hello from a bot");
    expect(ack.a).toBe("ack");
    expect(ack.p.result).toMatchObject({ text: "hello from a bot", channel: "lobby", user: { uname: "alice" } });
    expect(await socketIoHears).toEqual(ack.p.result);

    const [, sent] = await request(observer.socket, "new_message", { text: "hello bot", channel: "support" });
    const heard = await plain.next((event) => event.a === "new_message" && event.p.text === "hello bot");
    expect(heard).toEqual({ a: "new_message", p: sent, s: "support" });

    const plainSees = plain.next((event) => event.a === "user_joined" && event.p.uname === "bob");
    const bob = await join(server.url, "bob");
    expect((await plainSees).s).toBe("dashboard");
    const left = next(observer.socket, "user_left");
    plain.close();
    expect(await left).toEqual({ uname: "alice" });
    bob.socket.disconnect();
    observer.socket.disconnect();
  });

  it("gets the same mute and rate-limit errors as socket.io clients", async () => {
    const mod = await join(server.url, "mod");
    const plainBob = await PlainClient.joined(server.url, "bob");
    const socketBob = await join(server.url, "bob");
    await request(mod.socket, "new_message", { text: "/mute bob 5m" });
    expect((await plainBob.request("chat", { text: "hi", channel: "lobby" })).p).toMatchObject({ error: "USER_IS_MUTED" });
    expect(await request(socketBob.socket, "new_message", { text: "hi" })).toEqual(["USER_IS_MUTED"]);
    await request(mod.socket, "new_message", { text: "/unmute bob" });

    const replies = [];
    for (let i = 0; i < 5; i++) replies.push((await plainBob.request("chat", `burst ${i}`)).a);
    expect(replies.filter((a) => a === "ack").length).toBeGreaterThanOrEqual(3);
    const overLimit = await plainBob.request("chat", "one too many");
    const socketOverLimit = await request(socketBob.socket, "new_message", { text: "me too" });
    expect(overLimit.p).toMatchObject({ error: "RATE_LIMITED" });
    expect(socketOverLimit).toEqual(["RATE_LIMITED"]);
    plainBob.close();
    socketBob.socket.disconnect();
    mod.socket.disconnect();
  });

  it("receives deposits, several events in one frame", async () => {
    const plain = await PlainClient.joined(server.url, "alice", ["DEPOSITS"]);
    const frames: string[] = [];
    plain.ws.addEventListener("message", (event) => frames.push(String(event.data)));
    const response = await fetch(`${server.url}/v1/apps/1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ingestToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ id: `plain-dep-${Date.now()}`, type: "balance_change", auth_id: 3, balance: 900, diff: 100 }),
    });
    expect(response.status).toBe(202);
    const first = await plain.next((event) => event.a === "balance_change");
    expect(first).toEqual({ a: "balance_change", p: { balance: 900, diff: 100 }, s: "dashboard" });
    expect(await plain.next((event) => event.a === "confirmed_deposit_change")).toMatchObject({ p: { balance: 900, diff: 100 } });
    expect(frames.filter((frame) => frame !== "h")).toEqual([
      JSON.stringify([
        { a: "balance_change", p: { balance: 900, diff: 100 }, s: "dashboard" },
        { a: "confirmed_deposit_change", p: { balance: 900, diff: 100 }, s: "dashboard" },
      ]),
    ]);
    plain.close();
  });

  it("resumes from the last message id it saw, getting exactly what it missed", async () => {
    const owner = await join(server.url, "owner");
    const bot = await PlainClient.joined(server.url, "bob");
    const [, seen] = (await request(owner.socket, "new_message", { text: "before the drop" })) as [null, { id: number }];
    await bot.next((event) => event.a === "new_message" && event.p.id === seen.id);
    bot.close();
    const missed = [];
    for (const text of ["while away 1", "while away 2"]) missed.push((await request(owner.socket, "new_message", { text }))[1]);

    const again = await PlainClient.open(server.url);
    const reply = await again.request("auth", { app_id: 1, subscriptions: ["CHAT"], resume_from: seen.id });
    expect(reply.a).toBe("ack");
    expect(reply.p.result.chat.messages).toEqual(missed);
    expect(reply.p.result.chat).not.toHaveProperty("truncated");
    again.close();
    owner.socket.disconnect();
  });

  it("sends the h heartbeat at the configured interval", async () => {
    const plain = await PlainClient.open(server.url);
    await pause(1_300);
    expect(plain.heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(plain.heartbeats.length).toBeLessThanOrEqual(4);
    const gaps = plain.heartbeats.slice(1).map((at, i) => at - plain.heartbeats[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThan(250);
    plain.close();
  });

  it("closes a client that never authenticates at the deadline, telling it why", async () => {
    const opened = Date.now();
    const plain = await PlainClient.open(server.url);
    // Local workerd delivers a server close to a client that has never sent a frame only when the object
    // idles (docs/conformance.md), so this client speaks once, without authenticating.
    expect((await plain.request("ping")).a).toBe("ack");
    const explanation = await plain.next((event) => event.a === "client_error", 5_000);
    expect(explanation.p).toMatch(/auth was not received in time/);
    // AUTH_TIMEOUT_MS is 1,500 here: not before it.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1_500);
    expect((await plain.closedBy()).code).toBe(1000);
  });

  it("answers frames before auth with UNAUTHENTICATED", async () => {
    const plain = await PlainClient.open(server.url);
    expect((await plain.request("chat", "too soon")).p).toMatchObject({ error: "UNAUTHENTICATED" });
    plain.close();
  });
});

describe("bad plain frames", () => {
  it.each([
    ["non-JSON", "hello?", /JSON/],
    ["an array", "[1,2]", /a frame is a JSON object/],
    ["a missing action", JSON.stringify({ p: "x" }), /a \(the action\)/],
    ["a numeric action", JSON.stringify({ a: 5 }), /a \(the action\) must be a string/],
    ["a numeric id", JSON.stringify({ a: "ping", id: 5 }), /id must be a string/],
  ])("answers %s with an INVALID_FRAME error event and stays open", async (_, frame, message) => {
    const plain = await PlainClient.joined(server.url, null);
    plain.send(frame);
    const error = await plain.next((event) => event.a === "error");
    expect(error.p).toMatchObject({ id: null, error: "INVALID_FRAME" });
    expect(error.p.message).toMatch(message);
    expect((await plain.request("ping")).p).toEqual({ id: expect.any(String), result: "pong" });
    plain.close();
  });

  it("answers an unknown action with UNKNOWN_EVENT", async () => {
    const plain = await PlainClient.joined(server.url, null);
    expect((await plain.request("dance")).p).toMatchObject({ error: "UNKNOWN_EVENT" });
    plain.close();
  });

  it("closes on a binary frame with 1003 and on an oversized frame with 1009, explaining first", async () => {
    const binary = await PlainClient.joined(server.url, null);
    binary.send(Uint8Array.of(1, 2, 3));
    expect((await binary.next((event) => event.a === "client_error")).p).toMatch(/binary/);
    expect((await binary.closedBy()).code).toBe(1003);

    const big = await PlainClient.joined(server.url, null);
    big.send(JSON.stringify({ a: "chat", p: "x".repeat(20_000) }));
    expect((await big.next((event) => event.a === "client_error")).p).toMatch(/larger than/);
    expect((await big.closedBy()).code).toBe(1009);

    // Fewer characters than the limit, more bytes: the limit is on bytes.
    const wide = await PlainClient.joined(server.url, null);
    wide.send(JSON.stringify({ a: "chat", p: "✓".repeat(4_000) }));
    expect((await wide.next((event) => event.a === "client_error")).p).toMatch(/larger than/);
    expect((await wide.closedBy()).code).toBe(1009);
  });
});
