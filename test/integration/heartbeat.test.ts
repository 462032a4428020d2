import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, next, pause, request } from "../support/clients.js";
import { RawSocket } from "../support/raw-socket.js";
import { demoUser, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  // Pings every 400 ms; a silent client is dropped 1 s later (a pong late by more than that fails a test that
  // keeps a connection: more than a loaded machine has been seen to add).
  server = await startTestServer({ PING_INTERVAL_MS: "400", PING_TIMEOUT_MS: "1000" });
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

  // (The runtime answers these pings itself, so that they do not wake the room; that the room is asleep when
  // they come is not observable from here, and is not what this checks.)
  it("keeps a socket.io-client 2.x connection, whose client does the pinging, connected through several cycles", async () => {
    const legacy = await join(server.url, "mod", ["CHAT"], { version: "v2", transports: ["websocket"] });
    const pongs: number[] = [];
    legacy.socket.io.engine.on("pong", () => pongs.push(Date.now()));
    let disconnected = false;
    legacy.socket.on("disconnect", () => (disconnected = true));
    await pause(2_000);
    expect(pongs.length).toBeGreaterThanOrEqual(3);
    expect(disconnected).toBe(false);
    legacy.socket.disconnect();
  });

  it("drops an Engine.IO 3 client that stops pinging", async () => {
    const silent = await RawSocket.open(server.url, "EIO=3&transport=websocket&app_id=1");
    await silent.nextText((frame) => frame.startsWith("0"));
    silent.send("2");
    expect(await silent.nextText((frame) => frame === "3")).toBe("3");
    expect((await silent.closedBy(3_000)).reason).toMatch(/ping timeout/);
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
