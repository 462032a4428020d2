import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectChatWorks, join, type Joined } from "../support/clients.js";
import { upgradeStatus } from "../support/http.js";
import { RawPolling } from "../support/raw-polling.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** Long-polling requests that are broken, hostile or from the wrong place, and app origin allow-lists. */
let server: TestServer;
let alice: Joined;
let bob: Joined;

const ALLOWED = "https://games.example";

beforeAll(async () => {
  server = await startTestServer(
    { MAX_PAYLOAD_BYTES: "10000", CHAT_RATE_BURST: "1000" },
    `INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (2, 'Locked', '["${ALLOWED}"]', 0)`,
  );
  alice = await join(server.url, "alice");
  bob = await join(server.url, "bob");
});

afterAll(async () => {
  alice?.socket.disconnect();
  bob?.socket.disconnect();
  await server?.stop();
});

const roomStillServes = () => expectChatWorks(alice.socket, bob.socket);

/** Engine.IO's error codes as docs/protocol.md lists them for each polling error. */
const UNKNOWN_SID = 1;
const BAD_HANDSHAKE_METHOD = 2;
const BAD_REQUEST = 3;

async function expectJson400(response: Response, code: number): Promise<void> {
  expect(response.status).toBe(400);
  expect(response.headers.get("Content-Type")).toMatch(/application\/json/);
  const body = (await response.json()) as { code: number; message: string };
  expect(body.code).toBe(code);
  expect(body.message.length).toBeGreaterThan(0);
}

describe("bad long-polling requests", () => {
  it.each([
    ["a truncated v3 payload", "EIO=3", "10:4hello"],
    ["a mis-counted v3 payload", "EIO=3", "5:4hello"],
    ["a v3 payload without a length", "EIO=3", "4hello"],
    ["a v4 payload sent to a v3 session", "EIO=3", "4hello\x1e4again"],
    ["an unknown packet type", "EIO=4", "9nine"],
    ["an empty body", "EIO=4", ""],
    ["a truncated Socket.IO packet", "EIO=4", '42["new_mess'],
  ])("answers %s with 400 JSON and ends the session", async (_, version, body) => {
    const session = await RawPolling.open(server.url, `${version}&transport=polling&app_id=1`);
    if (version === "EIO=4") {
      await session.post("40");
      await session.until((packet) => packet.startsWith("40"));
    }
    await expectJson400(await fetch(session.url, { method: "POST", body }), BAD_REQUEST);
    // The session has ended.
    await expectJson400(await fetch(session.url), UNKNOWN_SID);
    await roomStillServes();
  });

  it("answers an oversized body with 400 JSON", async () => {
    const session = await RawPolling.open(server.url);
    await expectJson400(await fetch(session.url, { method: "POST", body: `4${"x".repeat(20_000)}` }), BAD_REQUEST);
    await roomStillServes();
  });

  it("answers a request of the wrong protocol version for its session with 400 JSON", async () => {
    const session = await RawPolling.open(server.url);
    await expectJson400(await fetch(session.url.replace("EIO=4", "EIO=3")), BAD_REQUEST);
    await session.post("40");
    expect(await session.until((packet) => packet.startsWith("40"))).toMatch(/^40\{"sid"/);
  });

  it.each([
    ["an unknown sid", (sid: string) => `${server.url}/socket.io/?EIO=4&transport=polling&app_id=1&sid=nope${sid.slice(4)}`],
    ["a sid of another app", (sid: string) => `${server.url}/socket.io/?EIO=4&transport=polling&app_id=2&sid=${sid}`],
  ])("answers %s with 400 JSON", async (_, urlFor) => {
    const session = await RawPolling.open(server.url);
    await expectJson400(await fetch(urlFor(session.sid)), UNKNOWN_SID);
    await expectJson400(await fetch(urlFor(session.sid), { method: "POST", body: "4hi" }), UNKNOWN_SID);
    await roomStillServes();
  });

  it("ends the session on a second simultaneous poll", async () => {
    const session = await RawPolling.open(server.url);
    // Whichever arrives second is the overlap: it gets 400, and the one waiting gets the close packet.
    const [first, second] = await Promise.all([fetch(session.url), fetch(session.url)]);
    const [refused, closed] = first.status === 400 ? [first, second] : [second, first];
    await expectJson400(refused, BAD_REQUEST);
    expect(closed.status).toBe(200);
    expect(await closed.text()).toBe("1");
    await expectJson400(await fetch(session.url), UNKNOWN_SID);
  });

  it("answers a handshake with a method other than GET with 400 JSON", async () => {
    const response = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&app_id=1`, { method: "POST", body: "4x" });
    await expectJson400(response, BAD_HANDSHAKE_METHOD);
  });
});

describe("origin allow-list", () => {
  const base = (appId: number, transport = "polling") => `${server.url}/socket.io/?EIO=4&transport=${transport}&app_id=${appId}`;

  it("admits any origin for an app whose list is empty", async () => {
    const response = await fetch(base(1), { headers: { Origin: "https://anywhere.example" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://anywhere.example");
  });

  it("admits a listed origin, and requests without an Origin (servers, scripts)", async () => {
    expect((await fetch(base(2), { headers: { Origin: ALLOWED } })).status).toBe(200);
    expect((await fetch(base(2))).status).toBe(200);
  });

  it("refuses other origins with 403 on handshake, polling and upgrade", async () => {
    const evil = { Origin: "https://evil.example" };
    const handshake = await fetch(base(2), { headers: evil });
    expect(handshake.status).toBe(403);
    expect(await handshake.json()).toMatchObject({ code: 4 });

    const session = await RawPolling.open(server.url, "EIO=4&transport=polling&app_id=2");
    expect((await fetch(session.url, { headers: evil })).status).toBe(403);
    expect((await fetch(session.url, { method: "POST", body: "40", headers: evil })).status).toBe(403);
    expect(await upgradeStatus(session.url.replace("transport=polling", "transport=websocket"), evil)).toBe(403);
    expect(await upgradeStatus(base(2, "websocket"), evil)).toBe(403);
    expect(await upgradeStatus(base(2, "websocket"), { Origin: ALLOWED })).toBe(101);
  });

  it("answers CORS preflights at the edge", async () => {
    const response = await fetch(base(2), {
      method: "OPTIONS",
      headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED);
  });
});
