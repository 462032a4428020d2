import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, next, pause, request, until, type ClientVersion, type Joined } from "../support/clients.js";
import { RawPolling } from "../support/raw-polling.js";
import { demoUser, startTestServer, type TestServer } from "../support/server.js";

/** Every kind of socket.io client a Moneypot app front end may run, against the same app room. */
let server: TestServer;

beforeAll(async () => {
  // Pings every 400 ms, so that a test sees several cycles; a pong may take up to 2 s, as on a busy machine.
  server = await startTestServer({ PING_INTERVAL_MS: "400", PING_TIMEOUT_MS: "2000", CHAT_RATE_BURST: "1000" });
});

afterAll(async () => {
  await server?.stop();
});

const matrix: Array<[string, ClientVersion, string[] | undefined, string]> = [
  ["socket.io-client 4.x, default transports (polling, then upgrade)", "v4", undefined, "websocket"],
  ["socket.io-client 4.x, polling only", "v4", ["polling"], "polling"],
  ["socket.io-client 4.x, WebSocket only", "v4", ["websocket"], "websocket"],
  ["socket.io-client 2.x, default transports (polling, then upgrade)", "v2", undefined, "websocket"],
  ["socket.io-client 2.x, WebSocket only", "v2", ["websocket"], "websocket"],
  ["socket.io-client 1.4, default transports (polling, then upgrade)", "v1", undefined, "websocket"],
  ["socket.io-client 1.4, polling only", "v1", ["polling"], "polling"],
  ["socket.io-client 1.4, WebSocket only", "v1", ["websocket"], "websocket"],
];

describe.each(matrix)("%s", (_, version, transports, finalTransport) => {
  it("authenticates, chats with acks, hears others, and survives heartbeat cycles", async () => {
    const options = { version, ...(transports ? { transports } : {}) };
    const alice: Joined = await join(server.url, "alice", ["CHAT"], options);
    const bob = await join(server.url, "bob");
    expect(alice.response["user"]).toEqual({ uname: "alice", auth_id: 3, role: "MEMBER" });

    const bobHears = next(bob.socket, "new_message");
    const [error, stored] = await request(alice.socket, "new_message", { text: `hello from ${version}` });
    expect(error).toBeNull();
    expect(await bobHears).toEqual(stored);

    const aliceHears = next(alice.socket, "new_message");
    const [, reply] = await request(bob.socket, "new_message", { text: "hello back" });
    expect(await aliceHears).toEqual(reply);

    let disconnected = false;
    alice.socket.on("disconnect", () => (disconnected = true));
    await pause(1_500);
    expect(disconnected).toBe(false);
    expect(alice.socket.io.engine.transport.name).toBe(finalTransport);
    const [lateError] = await request(alice.socket, "new_message", { text: "after three heartbeats" });
    expect(lateError).toBeNull();

    expect(await request(alice.socket, "new_message", { text: "" })).toEqual(["INVALID_MESSAGE"]);
    alice.socket.disconnect();
    bob.socket.disconnect();
  });
});

describe("the polling → WebSocket upgrade window", () => {
  it("delivers every message exactly once, in order, across the switch", async () => {
    const sender = await join(server.url, "owner");
    const session = await RawPolling.open(server.url);
    await session.post("40");
    await session.until((packet) => packet.startsWith("40"));
    await session.post(`420${JSON.stringify(["auth", { app_id: 1, access_token: demoUser("mod").token, subscriptions: ["CHAT"] }])}`);
    await session.until((packet) => packet.startsWith("430[null,"));

    const received: number[] = [];
    const acks: string[] = [];
    const collect = (packet: string) => {
      if (packet.startsWith('42["new_message"')) received.push((JSON.parse(packet.slice(2)) as [string, { id: number }])[1].id);
      if (packet.startsWith("431")) acks.push(packet);
    };
    const polling = (async () => {
      for (;;) {
        const packets = await session.poll();
        packets.forEach(collect);
        if (packets.includes("6")) return;
      }
    })();

    // Messages every few milliseconds, each acked on its own time: the flow does not wait for an ack.
    const sentIds: number[] = [];
    const acked: Array<Promise<void>> = [];
    let sending = true;
    const sends = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        acked.push(
          request(sender.socket, "new_message", { text: `tick ${i}` }).then(([error, message]) => {
            expect(error).toBeNull();
            sentIds.push((message as { id: number }).id);
          }),
        );
        await pause(5);
      }
    })();

    await pause(100);
    const ws = new WebSocket(session.url.replace(/^http/, "ws").replace("transport=polling", "transport=websocket"));
    ws.addEventListener("message", (event) => {
      const frame = String(event.data);
      if (frame === "2") ws.send("3");
      collect(frame);
    });
    await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
    const probed = new Promise((resolve) => ws.addEventListener("message", (event) => event.data === "3probe" && resolve(true)));
    ws.send("2probe");
    await probed;
    await polling;
    // The window: what the server sends now (the broadcasts, this POST's ack) waits for the WebSocket.
    const posted = await session.post(`421${JSON.stringify(["new_message", { text: "posted during the upgrade" }])}`);
    expect(posted.status).toBe(200);
    await pause(150);
    ws.send("5");
    await pause(200);
    sending = false;
    await sends;
    await Promise.all(acked);
    // Everything is on its way: the POST's ack and every broadcast arrive over the WebSocket, however busy the
    // machine (a fixed wait here failed when two test files ran at once).
    await until(() => acks.length === 1 && received.length >= sentIds.length + 1);
    await pause(100);

    expect(sentIds.length).toBeGreaterThan(20);
    expect(acks).toHaveLength(1);
    const ownId = (JSON.parse(acks[0]!.slice(3)) as [null, { id: number }])[1].id;
    expect(received).toEqual([...sentIds, ownId].sort((a, b) => a - b));
    ws.close();
    sender.socket.disconnect();
  });

  it("lets a real socket.io-client upgrade while messages flow, losing and repeating none", async () => {
    const sender = await join(server.url, "owner");
    const ids: number[] = [];
    let sending = true;
    const sends = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        const [, message] = await request(sender.socket, "new_message", { text: `tick ${i}` });
        ids.push((message as { id: number }).id);
        await pause(5);
      }
    })();
    const receiver = await join(server.url, "mod", ["CHAT"], { transports: ["polling", "websocket"] });
    const received: number[] = [];
    receiver.socket.on("new_message", (message: { id: number }) => received.push(message.id));
    const lastSeenAtAuth = (receiver.response["chat"] as { messages: Array<{ id: number }> }).messages.at(-1)?.id ?? 0;
    await pause(500);
    sending = false;
    await sends;
    const expected = ids.filter((id) => id > lastSeenAtAuth);
    await until(() => receiver.socket.io.engine.transport.name === "websocket" && received.length >= expected.length);
    await pause(100);
    expect(received).toEqual(expected);
    sender.socket.disconnect();
    receiver.socket.disconnect();
  });
});
