import { io, type Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { join, next, pause, request, sentinel, until, type Client } from "../support/clients.js";
import { storedMessages } from "../../scripts/local-server.mjs";
import { PlainClient } from "../support/plain-client.js";
import { demoUser, localSecret, startTestServer, type TestServer } from "../support/server.js";

/**
 * socket.io connection state recovery with a real socket.io-client 4.x: a client that loses its connection and
 * comes back within the window keeps its socket id and session and gets every broadcast it missed, once, in
 * order; even across a restart of the whole server. Every recovery hands out a new pid, so socket.io-client
 * reports `socket.recovered` as false: a recovery shows as the socket id kept.
 */
const WINDOW_MS = 4_000;
let server: TestServer;
let tokens: { ingest: string; admin: string };
const sockets: Client[] = [];

beforeAll(async () => {
  tokens = { ingest: await localSecret("INGEST_TOKEN"), admin: await localSecret("ADMIN_TOKEN") };
  server = await startTestServer({
    RECOVERY_WINDOW_MS: String(WINDOW_MS),
    INGEST_TOKEN: tokens.ingest,
    ADMIN_TOKEN: tokens.admin,
    CHAT_RATE_BURST: "100",
  });
});

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.disconnect();
});

afterAll(async () => {
  await server?.stop();
});

interface AppClient {
  socket: Socket;
  /** Every new_message payload, in arrival order. */
  messages: Array<{ id: number; text: string }>;
  /** Every auth answer, one per connect. */
  auths: unknown[][];
  /** The socket id and pid of each connect: a recovered session keeps its socket id and gets a new pid. */
  connects: Array<{ id: string | undefined; pid: string | undefined }>;
  deposits: unknown[];
}

/** A client written the way Socketpot apps are: it authenticates on every connect, and reconnects by itself. */
async function appClient(uname: string, options: { reconnectionDelay?: number; resumeWhenNotRecovered?: boolean } = {}): Promise<AppClient> {
  const socket = io(server.url, {
    query: { app_id: 1 },
    transports: ["websocket"],
    forceNew: true,
    reconnectionDelay: options.reconnectionDelay ?? 300,
    reconnectionDelayMax: options.reconnectionDelay ?? 300,
    randomizationFactor: 0,
  });
  sockets.push(socket);
  const client: AppClient = { socket, messages: [], auths: [], deposits: [], connects: [] };
  socket.on("new_message", (message) => client.messages.push(message));
  socket.on("balance_change", (change) => client.deposits.push(change));
  socket.on("connect", () => {
    client.connects.push({ id: socket.id, pid: (socket as unknown as { _pid?: string })._pid });
    // As socket.io's documentation has apps do when a connect was not recovered: ask for what came since.
    const last = client.messages.at(-1)?.id;
    const resume = options.resumeWhenNotRecovered && !socket.recovered && last !== undefined ? { resume_from: last } : {};
    socket.emit("auth", { app_id: 1, access_token: demoUser(uname).token, subscriptions: ["CHAT", "DEPOSITS"], ...resume }, (...reply: unknown[]) =>
      client.auths.push(reply),
    );
  });
  await until(() => client.auths.length === 1);
  return client;
}

/** Whether the client's latest connect got its session back: the same socket id under a new pid. */
function recovered(client: AppClient): boolean {
  const [previous, latest] = client.connects.slice(-2);
  return previous !== undefined && latest !== undefined && latest.id === previous.id && latest.pid !== previous.pid;
}

async function say(sender: Client, text: string): Promise<{ id: number; text: string }> {
  const [error, message] = await request(sender, "new_message", { text });
  expect(error).toBeNull();
  return message as { id: number; text: string };
}

function deposit(id: string, authId: number, balance: number): Promise<Response> {
  return fetch(`${server.url}/v1/apps/1/events`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${tokens.ingest}` },
    body: JSON.stringify({ id, type: "balance_change", auth_id: authId, balance, diff: balance }),
  });
}

/** Drops the client's transport the way a network failure would, without a goodbye to the server. */
function dropConnection(socket: Socket): void {
  (socket.io.engine as unknown as { close(): void }).close();
}

describe("connection state recovery", () => {
  it("gives a reconnecting client its session and socket id back, with every broadcast it missed, once and in order", async () => {
    const bob = await appClient("bob", { reconnectionDelay: 1_500 });
    const alice = await join(server.url, "alice");
    sockets.push(alice.socket);
    const before = await say(alice.socket, "before the drop");
    await until(() => bob.messages.length === 1);
    const socketId = bob.socket.id;

    dropConnection(bob.socket);
    await until(() => !bob.socket.connected);
    const missed = [await say(alice.socket, "missed 1"), await say(alice.socket, "missed 2")];
    expect((await deposit(`recovery-${Date.now()}`, demoUser("bob").authId, 700)).status).toBe(202);
    expect((await deposit(`recovery-other-${Date.now()}`, demoUser("alice").authId, 900)).status).toBe(202);
    await pause(500);

    await until(() => bob.socket.connected && bob.auths.length === 2);
    expect(recovered(bob)).toBe(true);
    expect(bob.socket.id).toBe(socketId);
    expect(bob.auths[1]?.[0]).toBeNull();
    await until(() => bob.messages.length === 3 && bob.deposits.length === 1);
    expect(bob.messages.map((message) => message.id)).toEqual([before, ...missed].map((message) => message.id));
    // A deposit of bob's own after alice's: once it is here, alice's would have been (it is not for bob).
    expect((await deposit(`recovery-sentinel-${Date.now()}`, demoUser("bob").authId, 1)).status).toBe(202);
    await until(() => bob.deposits.length === 2);
    expect(bob.deposits).toEqual([{ balance: 700, diff: 700 }, { balance: 1, diff: 1 }]);

    const after = await say(alice.socket, "after the return");
    // Once a sentinel sent after everything has arrived, nothing else is on its way: each message came once.
    const last = await sentinel(alice.socket, [bob.socket]);
    expect(bob.messages.map((message) => message.id)).toEqual([before, ...missed, after].map((message) => message.id).concat(last));
  });

  it("starts a new session for a client that returns after the window, and answers its auth as usual", async () => {
    const bob = await appClient("bob", { reconnectionDelay: WINDOW_MS + 1_500 });
    const socketId = bob.socket.id;
    dropConnection(bob.socket);
    await until(() => bob.socket.connected && bob.auths.length === 2, WINDOW_MS + 10_000);
    expect(recovered(bob)).toBe(false);
    expect(bob.socket.id).not.toBe(socketId);
    expect(bob.auths[1]?.[0]).toBeNull();
  });

  it("does not keep the session of a client that disconnected on purpose", async () => {
    const bob = await appClient("bob");
    bob.socket.disconnect();
    bob.socket.connect();
    await until(() => bob.socket.connected && bob.auths.length === 2);
    expect(recovered(bob)).toBe(false);
  });

  it("answers the resync of an app that reads socket.recovered (false, as the pid is new) with nothing twice", async () => {
    const bob = await appClient("bob", { resumeWhenNotRecovered: true });
    const alice = await join(server.url, "alice");
    sockets.push(alice.socket);
    const seen = await say(alice.socket, "seen");
    await until(() => bob.messages.length === 1);
    dropConnection(bob.socket);
    await until(() => !bob.socket.connected);
    const missed = await say(alice.socket, "missed");
    await until(() => bob.socket.connected && bob.auths.length === 2 && bob.messages.length === 2);
    expect(recovered(bob)).toBe(true);
    expect(bob.socket.recovered).toBe(false);
    const [error, response] = bob.auths[1]!;
    expect(error).toBeNull();
    expect((response as { chat: { messages: unknown[] } }).chat.messages).toEqual([]);
    const after = await say(alice.socket, "after");
    await until(() => bob.messages.length === 3);
    expect(bob.messages.map((message) => message.id)).toEqual([seen.id, missed.id, after.id]);
  });

  it("loses no acked message across a restart of the server: clients reconnect, recover or resume, and miss nothing", async () => {
    const listeners = [await appClient("bob"), await appClient("mod")];
    const plain = await PlainClient.joined(server.url, "owner");
    const alice = await appClient("alice");
    let sending = true;
    const acked: number[] = [];
    const sender = (async () => {
      for (let index = 0; sending || index < 40; index++) {
        // A message in flight when the server stops gets no ack: it may or may not be stored, and is not counted.
        const reply = await Promise.race([request(alice.socket, "new_message", { text: `across the restart ${index}` }), pause(3_000)]);
        if (Array.isArray(reply) && reply[0] === null) acked.push((reply[1] as { id: number }).id);
        await pause(20);
      }
    })();
    await until(() => acked.length >= 10);
    // Sessions reach storage within a second of their auth (a timer in the room, late on a busy machine); a
    // restart sooner would start them anew.
    await pause(3_000);
    await server.restart();
    // The plain client notices its socket closed and comes back with the id of the last message it has.
    await plain.closedBy(10_000);
    const plainSeen = plain.events.filter((event) => event.a === "new_message").map((event) => event.p.id as number);
    const resumed = await PlainClient.open(server.url);
    const reply = await resumed.request("auth", { app_id: 1, subscriptions: ["CHAT"], access_token: demoUser("owner").token, resume_from: plainSeen.at(-1) });
    plainSeen.push(...(reply.p.result.chat.messages as Array<{ id: number }>).map((message) => message.id));
    await until(() => listeners.every((listener) => listener.socket.connected && listener.auths.length === 2), 30_000);
    sending = false;
    await sender;
    const last = acked.at(-1);
    await until(() => listeners.every((listener) => listener.messages.some((message) => message.id === last)));
    const live = () => resumed.events.filter((event) => event.a === "new_message").map((event) => event.p.id as number);
    await until(() => [...plainSeen, ...live()].includes(last!));
    resumed.close();
    plainSeen.push(...live());
    expect(plainSeen).toEqual([...new Set(plainSeen)].sort((a, b) => a - b));
    expect(acked.filter((id) => !plainSeen.includes(id))).toEqual([]);

    for (const listener of listeners) {
      expect(recovered(listener)).toBe(true);
      const received = listener.messages.map((message) => message.id);
      expect(received).toEqual([...new Set(received)].sort((a, b) => a - b));
      expect(acked.filter((id) => !received.includes(id))).toEqual([]);
    }
    const stored = new Set((await storedMessages(server.url, tokens.admin)).map((message) => message.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  }, 60_000);
});

describe("session recovery and bad claims", () => {
  it("treats an unknown or malformed pid and offset as a new session", async () => {
    for (const claim of [{ pid: "nobody", offset: "1" }, { pid: 42 }, { pid: "x", offset: "not a number" }]) {
      const socket = io(server.url, { query: { app_id: 1 }, transports: ["websocket"], forceNew: true, reconnection: false, auth: claim as object });
      sockets.push(socket);
      await next(socket, "connect");
      expect(socket.recovered).toBe(false);
      const [error] = await request(socket, "auth", { app_id: 1, subscriptions: ["CHAT"] });
      expect(error).toBeNull();
    }
  });
});
