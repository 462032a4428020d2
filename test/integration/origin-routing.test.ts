import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, next, open, pause, request, type Client, type ClientVersion } from "../support/clients.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";

/**
 * Socketpot apps of 2015 connect with `io(host)`: no app id in the URL, only in `auth`. Their requests reach the
 * app that registered the page's Origin. Here socket.io clients send that Origin as a browser page would.
 */
let server: TestServer;
let adminToken: string;
const DICE = "https://dice-2015.example";
const SHARED = "https://shared.example";
let diceApp: number;
let sharedApps: number[];
let diceToken: string;

async function admin(method: string, path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${server.url}/v1/admin${path}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as Record<string, any>;
}

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken, CHAT_RATE_BURST: "1000", PING_INTERVAL_MS: "400", PING_TIMEOUT_MS: "1000" });
  diceApp = (await admin("POST", "/apps", { name: "Dice 2015", allowed_origins: [DICE] })).id;
  sharedApps = [
    (await admin("POST", "/apps", { name: "Shared A", allowed_origins: [SHARED] })).id,
    (await admin("POST", "/apps", { name: "Shared B", allowed_origins: ["https://b.example", SHARED] })).id,
  ];
  diceToken = (await admin("POST", `/apps/${diceApp}/tokens`, { auth_id: 7, uname: "satoshi", role: "MEMBER" })).token;
});

afterAll(async () => {
  await server?.stop();
});

/** A handshake as a 2015 page sends it: no app_id; `origin` null sends no Origin header at all. */
async function handshake(origin: string | null): Promise<Response> {
  return fetch(`${server.url}/socket.io/?EIO=3&transport=polling`, { headers: origin === null ? {} : { Origin: origin } });
}

const matrix: Array<[ClientVersion, string[] | undefined, string]> = [
  ["v1", undefined, "websocket"],
  ["v1", ["websocket"], "websocket"],
  ["v1", ["polling"], "polling"],
  ["v2", undefined, "websocket"],
  ["v4", undefined, "websocket"],
  ["v4", ["websocket"], "websocket"],
  ["v4", ["polling"], "polling"],
];

describe.each(matrix)("socket.io-client %s with transports %j and no app_id in the URL", (version, transports, finalTransport) => {
  it("reaches the app that registered its origin, authenticates, chats and keeps its route across heartbeats", async () => {
    const options = { version, appId: null, origin: DICE, ...(transports ? { transports } : {}) };
    const socket = await connect(server.url, options);
    const [error, response] = await request(socket, "auth", { app_id: diceApp, access_token: diceToken, subscriptions: ["CHAT"] });
    expect(error).toBeNull();
    expect(response).toMatchObject({ user: { uname: "satoshi", auth_id: 7, role: "MEMBER" } });

    const listener = await connect(server.url, { appId: diceApp });
    await request(listener, "auth", { app_id: diceApp, subscriptions: ["CHAT"] });
    const heard = next(listener, "new_message");
    const [sendError, stored] = await request(socket, "new_message", { text: `from ${version} without app_id` });
    expect(sendError).toBeNull();
    expect(await heard).toEqual(stored);

    // Polls and the upgrade name no app either: they reach the same room, or the session would be unknown there.
    await pause(1_200);
    expect(socket.connected).toBe(true);
    expect(socket.io.engine.transport.name).toBe(finalTransport);
    const [lateError] = await request(socket, "new_message", { text: "after the upgrade and three heartbeats" });
    expect(lateError).toBeNull();
    socket.disconnect();
    listener.disconnect();
  });
});

describe("requests that cannot be routed by origin", () => {
  it("answer an origin no app registered with a 400 in Engine.IO's shape that says how to fix it", async () => {
    const response = await handshake("https://nobody.example");
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: number; message: string };
    expect(body).toEqual({ code: 3, message: expect.stringContaining("no app has registered the origin https://nobody.example") });
    expect(body.message).toMatch(/add \?app_id=N to the socket URL/);
    expect(body.message).toMatch(/allowed_origins/);
  });

  it("answer an origin several apps registered with a 400 that names them", async () => {
    const response = await handshake(SHARED);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: 3,
      message: expect.stringContaining(`registered by several apps (${sharedApps.join(", ")})`),
    });
  });

  it("answer a request with neither app_id nor Origin with a 400", async () => {
    const response = await handshake(null);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 3, message: expect.stringMatching(/names no app and has no Origin.*add \?app_id=N/) });
  });

  it("hand the reason to socket.io-client's connect_error", async () => {
    const socket = open(server.url, { appId: null, origin: "https://unknown.example", transports: ["polling"] });
    // The response is read at once: the client discards its request right after the event.
    const error = await new Promise<{ description: unknown; body: unknown }>((resolve) =>
      socket.once("connect_error", (error: { description: unknown; context: { responseText: string } }) =>
        resolve({ description: error.description, body: JSON.parse(error.context.responseText) }),
      ),
    );
    socket.disconnect();
    expect(error).toEqual({ description: 400, body: { code: 3, message: expect.stringMatching(/add \?app_id=N/) } });
  });

  it("refuse an auth for another app than the one the origin chose, as for an app_id in the URL", async () => {
    const socket: Client = await connect(server.url, { appId: null, origin: DICE });
    const explained = next<string>(socket, "client_error");
    const disconnected = next(socket, "disconnect");
    expect(await request(socket, "auth", { app_id: 1, subscriptions: ["CHAT"] })).toEqual(["INVALID_AUTH"]);
    expect(await explained).toMatch(new RegExp(`auth app_id 1 does not match the app_id ${diceApp}`));
    await disconnected;
  });

  it("route an app_id in the URL as before, whatever the Origin", async () => {
    // App 1 (any origin) named in the URL, from a page whose Origin another app registered: the URL decides, and
    // auth for app 1 is answered (auth for another app than the connection's would be INVALID_AUTH).
    const socket = await connect(server.url, { appId: 1, origin: DICE, transports: ["polling"] });
    expect(await request(socket, "auth", { app_id: 1, subscriptions: ["BETS"] })).toEqual([null, { subscriptions: ["BETS"] }]);
    socket.disconnect();
  });
});
