import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, next, pause, request } from "../support/clients.js";
import { RawSocket } from "../support/raw-socket.js";
import { demoUser, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ PING_INTERVAL_MS: "400", PING_TIMEOUT_MS: "300" });
});

afterAll(async () => {
  await server?.stop();
});

describe("heartbeats driven by the room's alarm", () => {
  it("keeps a socket.io client that answers pings connected through several cycles", async () => {
    const alice = await join(server.url, "alice");
    const pings: number[] = [];
    alice.socket.io.engine.on("ping", () => pings.push(Date.now()));
    let disconnected = false;
    alice.socket.on("disconnect", () => (disconnected = true));
    await pause(2_500);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(disconnected).toBe(false);
    const [error] = await request(alice.socket, "new_message", { text: "still connected" });
    expect(error).toBeNull();
    alice.socket.disconnect();
  });

  it("drops a client that stops answering, and announces that its user left", async () => {
    const observer = await join(server.url, "owner");
    const userLeft = next<{ uname: string }>(observer.socket, "user_left", 10_000);
    const silent = await RawSocket.authenticated(server.url, demoUser("bob").token);
    expect(await silent.nextText((frame) => frame === "2")).toBe("2");
    const closed = await silent.closedBy(5_000);
    expect(closed.reason).toMatch(/ping timeout/);
    expect(await userLeft).toEqual({ uname: "bob" });
    observer.socket.disconnect();
  });
});
