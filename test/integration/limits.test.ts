import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, join, next, request } from "../support/clients.js";
import { upgradeResponse } from "../support/http.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Connection limits per app and per client address. Locally the test sets CF-Connecting-IP itself to stand
 * for different addresses; on Cloudflare the edge sets it and a client cannot.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ MAX_CONNECTIONS_PER_IP: "2", MAX_CONNECTIONS_PER_APP: "3" });
});

afterAll(async () => {
  await server?.stop();
});

const handshake = (ip: string) => fetch(`${server.url}/socket.io/?EIO=4&transport=polling&app_id=1`, { headers: { "CF-Connecting-IP": ip } });

async function pollingSession(ip: string): Promise<string> {
  const response = await handshake(ip);
  expect(response.status).toBe(200);
  const sid = (JSON.parse((await response.text()).slice(1)) as { sid: string }).sid;
  return `${server.url}/socket.io/?EIO=4&transport=polling&app_id=1&sid=${sid}`;
}

describe("connection limits", () => {
  it("refuse a third connection from one address, and a fourth to the app, with a 429 (Engine.IO's shape on /socket.io/)", async () => {
    const a1 = await pollingSession("203.0.113.1");
    await pollingSession("203.0.113.1");
    const perIp = await handshake("203.0.113.1");
    expect(perIp.status).toBe(429);
    expect(await perIp.json()).toEqual({ code: 4, message: expect.stringMatching(/one address/) });
    const plain = await upgradeResponse(`${server.url}/v1/apps/1/ws`, { "CF-Connecting-IP": "203.0.113.1" });
    expect(plain.status).toBe(429);
    expect(JSON.parse(plain.body)).toEqual({ error: "TOO_MANY_CONNECTIONS", message: "at most 2 connections to one app from one address" });

    await pollingSession("203.0.113.2");
    const perApp = await handshake("203.0.113.3");
    expect(perApp.status).toBe(429);
    expect(await perApp.json()).toEqual({ code: 4, message: expect.stringMatching(/limit/) });

    // A connection that ends frees its place: at once in one room, within a report's round trip on shards.
    expect((await fetch(a1, { method: "POST", body: "1", headers: { "CF-Connecting-IP": "203.0.113.1" } })).status).toBe(200);
    let freed = await handshake("203.0.113.3");
    for (let attempt = 0; freed.status === 429 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      freed = await handshake("203.0.113.3");
    }
    expect(freed.status).toBe(200);
  });
});

describe("sessions without a user", () => {
  let app: TestServer;

  beforeAll(async () => {
    // Of 10 connections, floor(10 × 0.2) = 2 may be sessions without a user.
    app = await startTestServer({ MAX_CONNECTIONS_PER_APP: "10", ANONYMOUS_SHARE: "0.2" });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("are capped at their share of the app: one more anonymous auth is refused and closed, users still get in", async () => {
    const viewers = [await join(app.url, null, ["BETS"]), await join(app.url, null, ["CHAT"])];
    const extra = await connect(app.url);
    const closed = next(extra, "disconnect");
    const refusal = next<string>(extra, "client_error");
    expect(await request(extra, "auth", { app_id: 1, subscriptions: ["BETS"] })).toEqual(["TOO_MANY_CONNECTIONS"]);
    expect(await refusal).toMatch(/holds 2 connections without a user, its most; authenticate with an access_token/);
    await closed;
    const user = await join(app.url, "alice");
    expect(user.response).toMatchObject({ user: { uname: "alice" } });
    // A place freed is a place taken again.
    viewers[0]!.socket.disconnect();
    const closedViewer = viewers[0]!;
    let again: Awaited<ReturnType<typeof join>> | null = null;
    for (let attempt = 0; attempt < 50 && !again; attempt++) {
      again = await join(app.url, null, ["BETS"]).catch(() => null);
    }
    expect(again).not.toBeNull();
    for (const each of [viewers[1]!, user, again!, closedViewer]) each.socket.disconnect();
  });
});
