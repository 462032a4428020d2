import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectChatWorks, join, request, type Joined } from "../support/clients.js";
import { RawSocket } from "../support/raw-socket.js";
import { demoUser, startTestServer, type TestServer } from "../support/server.js";

/**
 * Hostile and broken input over raw WebSockets. After each case a well-behaved socket.io client in the same
 * room still chats, and what was stored before is still there.
 */
let server: TestServer;
let alice: Joined;
let bob: Joined;
let storedBefore: { id: number; text: string };

beforeAll(async () => {
  // A generous rate limit: this file sends many messages as one user on purpose.
  server = await startTestServer({ CHAT_RATE_BURST: "1000" });
  alice = await join(server.url, "alice");
  bob = await join(server.url, "bob");
  const [, stored] = await request(alice.socket, "new_message", { text: "stored before the abuse" });
  storedBefore = stored as typeof storedBefore;
});

afterAll(async () => {
  alice?.socket.disconnect();
  bob?.socket.disconnect();
  await server?.stop();
});

async function roomStillServes(): Promise<void> {
  await expectChatWorks(alice.socket, bob.socket);
  const late = await join(server.url, null);
  const history = (late.response["chat"] as { messages: Array<{ id: number; text: string }> }).messages;
  expect(history).toContainEqual(expect.objectContaining({ id: storedBefore.id, text: storedBefore.text }));
  late.socket.disconnect();
}

describe("malformed frames", () => {
  it.each([
    ["an unknown Engine.IO packet type", "9hello", 1002, /unknown Engine.IO packet type/],
    ["an empty frame", "", 1002, /unknown Engine.IO packet type/],
    ["an unknown Socket.IO packet type", "49", 1002, /unknown Socket.IO packet type/],
    ["non-JSON in an event", "42not json", 1002, /not valid JSON/],
    ["an event that is not an array", '42{"auth":1}', 1002, /must be a non-empty array/],
    ["a reserved event name", '42["disconnect"]', 1002, /reserved/],
    ["a stray binary attachment", new Uint8Array([1, 2, 3]), 1002, /binary payload received without/],
  ])("closes on %s, after a client_error", async (_, frame, code, reason) => {
    const raw = await RawSocket.connected(server.url);
    raw.send(frame);
    const [, explanation] = await raw.nextEvent("client_error");
    expect(explanation).toMatch(reason);
    const closed = await raw.closedBy();
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(reason);
    await roomStillServes();
  });

  it("closes with 1009 on a 3 MB frame, over maxPayload", async () => {
    const raw = await RawSocket.authenticated(server.url, demoUser("bob").token);
    raw.send(`42${JSON.stringify(["new_message", { text: "x".repeat(3_000_000) }])}`);
    const [, explanation] = await raw.nextEvent("client_error");
    expect(explanation).toMatch(/maxPayload/);
    expect((await raw.closedBy()).code).toBe(1009);
    await roomStillServes();
  });
});

describe("well-framed but wrong requests", () => {
  it("answers wrong types, unknown events and oversized text with error acks, keeping the connection", async () => {
    const raw = await RawSocket.authenticated(server.url, demoUser("bob").token);
    const cases: Array<[unknown[], string]> = [
      [["new_message", 5], "INVALID_MESSAGE"],
      [["new_message", null], "INVALID_MESSAGE"],
      [["new_message", { text: ["a"] }], "INVALID_MESSAGE"],
      [["new_message", { text: "hi", channel: { $gt: "" } }], "INVALID_MESSAGE"],
      [["new_message", { text: "x".repeat(900_000) }], "INVALID_MESSAGE"],
      [["new_message", { text: "line\r\nbreak" }], "INVALID_MESSAGE"],
      [["new_message", { text: "esc\u001b[31m" }], "INVALID_MESSAGE"],
      [["transfer_funds", { to: "mallory" }], "UNKNOWN_EVENT"],
      [[42], "UNKNOWN_EVENT"],
      [["auth", { app_id: 1, subscriptions: ["CHAT"] }], "ALREADY_AUTHENTICATED"],
    ];
    for (const [index, [event, expected]] of cases.entries()) {
      const ackId = 100 + index;
      raw.send(`42${ackId}${JSON.stringify(event)}`);
      const ack = await raw.nextText((frame) => frame.startsWith(`43${ackId}[`));
      expect(JSON.parse(ack.slice(`43${ackId}`.length))).toEqual([expected]);
      const [, explanation] = await raw.nextEvent("client_error");
      expect(typeof explanation).toBe("string");
    }
    expect(raw.closed).toBeNull();
    await roomStillServes();
    raw.close();
  });

  it("stores and returns unicode and markup exactly as sent", async () => {
    const texts = ["héllo wörld ✓", "🎲🎰 emoji 👨‍👩‍👧", "עברית and العربية", "<img src=x onerror=alert(1)>", "'; DROP TABLE messages; --"];
    for (const text of texts) {
      const [error, stored] = await request(alice.socket, "new_message", { text });
      expect(error).toBeNull();
      expect(stored).toMatchObject({ text });
    }
    const late = await join(server.url, null);
    const history = (late.response["chat"] as { messages: Array<{ text: string }> }).messages.map((message) => message.text);
    expect(history.slice(-texts.length)).toEqual(texts);
    late.socket.disconnect();
    await roomStillServes();
  });

  it("answers connects to unknown namespaces with CONNECT_ERROR and keeps the connection", async () => {
    const raw = await RawSocket.open(server.url);
    await raw.nextText((frame) => frame.startsWith("0"));
    raw.send("40/admin,");
    expect(await raw.nextText((frame) => frame.startsWith("44"))).toBe('44/admin,{"message":"Invalid namespace"}');
    raw.send("40");
    expect(await raw.nextText((frame) => frame.startsWith("40"))).toMatch(/^40\{"sid":"[\w-]+","pid":"[\w-]+"\}$/);
    raw.close();
  });
});
