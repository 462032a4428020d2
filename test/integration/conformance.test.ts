import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalServer } from "../../scripts/local-server.mjs";
import { pause } from "../support/clients.js";
import { RawSocket } from "../support/raw-socket.js";
import { runningServers } from "../support/server.js";

/**
 * The conformance server (`npm run conformance`) checked against the Engine.IO and Socket.IO protocol
 * documents, revisions 3/4 and 4/5: these are our own tests of the behaviours the official suites exercise.
 */
let url: string;
let stop: () => Promise<void>;
let persistTo: string;

beforeAll(async () => {
  persistTo = await mkdtemp(join(tmpdir(), "socketpot-conformance-"));
  const server = await startLocalServer({ config: "wrangler.conformance.toml", persistTo });
  runningServers.add(server);
  url = server.url;
  stop = async () => {
    runningServers.delete(server);
    await server.stop();
  };
});

afterAll(async () => {
  await stop?.();
  await rm(persistTo, { recursive: true, force: true });
});

const engine = (query: string) => `${url}/engine.io/?${query}`;

/** Opens a long-polling session and returns its URL; v3 bodies are length-prefixed. */
async function pollingSession(protocol: 3 | 4, extra = ""): Promise<string> {
  const response = await fetch(engine(`EIO=${protocol}&transport=polling${extra}`));
  const open = /^(?:\d+:)?0(\{.*\})$/.exec(await response.text());
  if (!open?.[1]) throw new Error("no open packet");
  return engine(`EIO=${protocol}&transport=polling${extra}&sid=${(JSON.parse(open[1]) as { sid: string }).sid}`);
}

describe("Engine.IO handshake", () => {
  it("v4 over polling: the open packet alone, with the reference settings", async () => {
    const response = await fetch(engine("EIO=4&transport=polling"));
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body.charAt(0)).toBe("0");
    const handshake = JSON.parse(body.slice(1));
    expect(Object.keys(handshake).sort()).toEqual(["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    expect(handshake).toMatchObject({ upgrades: ["websocket"], pingInterval: 300, pingTimeout: 200, maxPayload: 1_000_000 });
  });

  it("v3 over polling: the open packet with its length", async () => {
    const body = await (await fetch(engine("EIO=3&transport=polling"))).text();
    const [length, packet] = [body.slice(0, body.indexOf(":")), body.slice(body.indexOf(":") + 1)];
    expect(Number(length)).toBe(packet.length);
    expect(packet.charAt(0)).toBe("0");
  });

  it.each([
    ["no EIO", "transport=polling"],
    ["a bad EIO", "EIO=abc&transport=polling"],
    ["no transport", "EIO=4"],
    ["a bad transport", "EIO=4&transport=abc"],
  ])("refuses %s with 400", async (_, query) => {
    expect((await fetch(engine(query))).status).toBe(400);
  });

  it("refuses a handshake by POST or PUT with 400", async () => {
    for (const method of ["POST", "PUT"]) expect((await fetch(engine("EIO=4&transport=polling"), { method })).status).toBe(400);
  });

  it("over WebSocket: no upgrades offered", async () => {
    const socket = await RawSocket.open(url, "EIO=4&transport=websocket", "/engine.io/");
    const open = await socket.nextText((frame) => frame.startsWith("0"));
    expect(JSON.parse(open.slice(1))).toMatchObject({ upgrades: [] });
    socket.close();
  });
});

describe("Engine.IO messages", () => {
  it("v4 polling: echoes text and base64 binary packets in one payload", async () => {
    const session = await pollingSession(4);
    expect(await (await fetch(session, { method: "POST", body: "4hello\x1e4again\x1ebAQIDBA==" })).text()).toBe("ok");
    expect(await (await fetch(session)).text()).toBe("4hello\x1e4again\x1ebAQIDBA==");
  });

  it("v3 polling: echoes as text for base64 clients and as a binary payload for the others", async () => {
    const text = await pollingSession(3, "&b64=1");
    await fetch(text, { method: "POST", body: "6:4hello10:b4AQIDBA==" });
    expect(await (await fetch(text)).text()).toBe("6:4hello10:b4AQIDBA==");
    const binary = await pollingSession(3);
    await fetch(binary, { method: "POST", body: "6:4hello10:b4AQIDBA==" });
    const bytes = new Uint8Array(await (await fetch(binary)).arrayBuffer());
    expect([...bytes]).toEqual([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4]);
  });

  it("closes a polling session on an invalid packet", async () => {
    const session = await pollingSession(4);
    expect((await fetch(session, { method: "POST", body: "abc" })).status).toBe(400);
    expect((await fetch(session)).status).toBe(400);
  });

  it("WebSocket: echoes text; binary raw in v4 and behind a type byte in v3", async () => {
    const v4 = await RawSocket.open(url, "EIO=4&transport=websocket", "/engine.io/");
    await v4.nextText((frame) => frame.startsWith("0"));
    v4.send("4hello");
    expect(await v4.nextText((frame) => frame.startsWith("4"))).toBe("4hello");
    v4.send(Uint8Array.of(1, 2, 3));
    expect(await v4.binaryFrames(1)).toEqual([Uint8Array.of(1, 2, 3)]);
    v4.close();

    const v3 = await RawSocket.open(url, "EIO=3&transport=websocket", "/engine.io/");
    await v3.nextText((frame) => frame.startsWith("0"));
    v3.send(Uint8Array.of(4, 1, 2, 3));
    expect(await v3.binaryFrames(1)).toEqual([Uint8Array.of(4, 1, 2, 3)]);
    v3.close();
  });
});

describe("Engine.IO heartbeat and close", () => {
  it("v4: the server pings over polling and the client's pongs keep the session", async () => {
    const session = await pollingSession(4);
    for (let i = 0; i < 3; i++) {
      expect(await (await fetch(session)).text()).toBe("2");
      expect((await fetch(session, { method: "POST", body: "3" })).status).toBe(200);
    }
  });

  it("v3: the client pings over polling and the server pongs", async () => {
    const session = await pollingSession(3);
    for (let i = 0; i < 3; i++) {
      await fetch(session, { method: "POST", body: "1:2" });
      expect(await (await fetch(session)).text()).toBe("1:3");
    }
  });

  it.each([4, 3] as const)("v%d: a silent polling session is closed after pingInterval + pingTimeout", async (protocol) => {
    const session = await pollingSession(protocol);
    await pause(550);
    expect((await fetch(session, protocol === 3 ? { method: "POST", body: "1:2" } : {})).status).toBe(400);
  });

  it("ends the session when the client sends close, answering the waiting poll with noop", async () => {
    const session = await pollingSession(4);
    const [waiting] = await Promise.all([fetch(session), pause(30).then(() => fetch(session, { method: "POST", body: "1" }))]);
    expect(await waiting.text()).toBe("6");
    expect((await fetch(session)).status).toBe(400);
  });

  it("closes a WebSocket whose client sends close", async () => {
    const socket = await RawSocket.open(url, "EIO=4&transport=websocket", "/engine.io/");
    await socket.nextText((frame) => frame.startsWith("0"));
    socket.send("1");
    expect((await socket.closedBy()).code).toBe(1000);
  });

  it("pings over WebSocket and drops a client that stops answering", async () => {
    const socket = await RawSocket.open(url, "EIO=4&transport=websocket", "/engine.io/");
    await socket.nextText((frame) => frame.startsWith("0"));
    socket.send("4wake");
    expect(await socket.nextText((frame) => frame === "2")).toBe("2");
    expect((await socket.closedBy(2_000)).reason).toMatch(/ping timeout/);
  });
});

describe("Engine.IO upgrade", () => {
  it.each([4, 3] as const)("v%d: probe, noop to the poll, upgrade, then traffic over the WebSocket", async (protocol) => {
    const session = await pollingSession(protocol);
    const socket = await RawSocket.open(url, new URL(session).search.slice(1).replace("transport=polling", "transport=websocket"), "/engine.io/");
    socket.send("2probe");
    expect(await socket.nextText((frame) => frame.startsWith("3"))).toBe("3probe");
    expect(await (await fetch(session)).text()).toBe(protocol === 4 ? "6" : "1:6");
    socket.send("5");
    socket.send("4hello");
    expect(await socket.nextText((frame) => frame.startsWith("4"))).toBe("4hello");
    expect((await fetch(session)).status).toBe(400);
    const second = await RawSocket.open(url, new URL(session).search.slice(1).replace("transport=polling", "transport=websocket"), "/engine.io/");
    expect((await second.closedBy()).code).toBe(1008);
    socket.close();
  });
});

describe("Socket.IO", () => {
  async function v5(): Promise<RawSocket> {
    const socket = await RawSocket.open(url, "EIO=4&transport=websocket");
    await socket.nextText((frame) => frame.startsWith("0"));
    return socket;
  }

  it("v5: connects the main and custom namespaces, echoing the connect payload as auth", async () => {
    const socket = await v5();
    socket.send('40{"token":"123"}');
    expect(JSON.parse((await socket.nextText((frame) => frame.startsWith("40"))).slice(2))).toEqual({ sid: expect.any(String) });
    expect(await socket.nextText((frame) => frame.startsWith("42"))).toBe('42["auth",{"token":"123"}]');
    socket.send("40/custom,");
    expect(await socket.nextText((frame) => frame.startsWith("40/custom,"))).toMatch(/^40\/custom,\{"sid":"[\w-]+"\}$/);
    expect(await socket.nextText((frame) => frame.startsWith("42/custom"))).toBe('42/custom,["auth",{}]');
    socket.send("40/random");
    expect(await socket.nextText((frame) => frame.startsWith("44"))).toBe('44/random,{"message":"Invalid namespace"}');
    socket.close();
  });

  it("v5: echoes messages, acks, and binary attachments", async () => {
    const socket = await v5();
    socket.send("40");
    await socket.nextText((frame) => frame.startsWith("42"));
    socket.send('42["message",1,"2",{"3":[true]}]');
    expect(await socket.nextText((frame) => frame.startsWith('42["message-back"'))).toBe('42["message-back",1,"2",{"3":[true]}]');
    socket.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    expect(await socket.nextText((frame) => frame.startsWith("43"))).toBe('43456[1,"2",{"3":[false]}]');
    socket.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    socket.send(Uint8Array.of(1, 2, 3));
    socket.send(Uint8Array.of(4, 5, 6));
    expect(await socket.nextText((frame) => frame.startsWith("46"))).toBe('462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    expect(await socket.binaryFrames(2)).toEqual([Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5, 6)]);
    socket.close();
  });

  it("v5: keeps the connection after a namespace disconnect", async () => {
    const socket = await v5();
    socket.send("40");
    await socket.nextText((frame) => frame.startsWith("42"));
    socket.send("41");
    expect(await socket.nextText((frame) => frame === "2")).toBe("2");
    socket.close();
  });

  it.each(["4abc", "42{}", '42abc["message-with-ack",1]'])("v5: closes the connection on the malformed packet %j", async (frame) => {
    const socket = await v5();
    socket.send("40");
    await socket.nextText((text) => text.startsWith("42"));
    socket.send(frame);
    expect((await socket.closedBy()).code).toBe(1002);
  });

  it("v4: is connected to the main namespace at once, and leaving it closes the connection", async () => {
    const socket = await RawSocket.open(url, "EIO=3&transport=websocket");
    await socket.nextText((frame) => frame.startsWith("0"));
    expect(await socket.nextText((frame) => frame.startsWith("40"))).toBe("40");
    expect(await socket.nextText((frame) => frame.startsWith("42"))).toBe('42["auth",{}]');
    socket.send("40/custom,");
    expect(await socket.nextText((frame) => frame.startsWith("40/custom"))).toBe("40/custom,");
    // v3 clients ping; the server answers and counts the client alive.
    socket.send("2");
    expect(await socket.nextText((frame) => frame === "3")).toBe("3");
    socket.send('451-["message",{"_placeholder":true,"num":0}]');
    socket.send(Uint8Array.of(4, 9, 8));
    expect(await socket.nextText((frame) => frame.startsWith("45"))).toBe('451-["message-back",{"_placeholder":true,"num":0}]');
    expect(await socket.binaryFrames(1)).toEqual([Uint8Array.of(4, 9, 8)]);
    socket.send("41");
    expect((await socket.closedBy()).code).toBe(1000);
  });
});
