// A load process: connects its share of socket.io clients to one server and runs the phases it is told to,
// reporting measurements to the parent over IPC. Runs as a separate process from the servers.
import { io } from "socket.io-client";
import { DEMO_USERS, clientAddress as address } from "../scripts/local-server.mjs";
import { SIGNED_TOKENS_VAR } from "./harness.mjs";

const sockets = [];
/** Sockets that only sit there (--idle): connected and authenticated, subscribed to BETS, which stays quiet. */
const idle = [];
const latencies = [];

/** A new socket.io client of the demo app over WebSocket, offering permessage-deflate only if `deflate`. */
function openSocket(url, deflate, ip = address(0)) {
  return io(url, {
    query: { app_id: 1 },
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: 60_000,
    extraHeaders: { "CF-Connecting-IP": ip },
    ...(deflate ? {} : { perMessageDeflate: false }),
  });
}

/**
 * The two ways a client talks to the chat: socket.io (the Socketpot API) and Socketpot's plain-WebSocket
 * protocol (one JSON object per frame up, arrays of events down). Each resolves `join` once authenticated.
 */
const protocols = {
  "socket.io": {
    join: (url, user, subscriptions, deflate, ip) =>
      new Promise((resolve, reject) => {
        const socket = openSocket(url, deflate, ip);
        socket.once("connect_error", reject);
        socket.once("connect", () => {
          socket.emit("auth", { app_id: 1, access_token: user.token, subscriptions }, (error) => (error ? reject(new Error(error)) : resolve(socket)));
        });
      }),
    onMessage: (socket, listener) => socket.on("new_message", listener),
    say: (socket, text) => socket.emit("new_message", { text }),
    close: (socket) => socket.disconnect(),
  },
  plain: {
    join: (url, user, subscriptions, _deflate, ip) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/apps/1/ws`, { headers: { "CF-Connecting-IP": ip } });
        ws.listeners = [];
        ws.onerror = () => reject(new Error("WebSocket failed"));
        ws.onopen = () => ws.send(JSON.stringify({ a: "auth", p: { app_id: 1, access_token: user.token, subscriptions }, id: "auth" }));
        ws.onmessage = ({ data }) => {
          if (data === "h") return;
          for (const event of JSON.parse(data)) {
            if (event.p?.id === "auth") event.a === "ack" ? resolve(ws) : reject(new Error(event.p.error));
            else if (event.a === "new_message") for (const listener of ws.listeners) listener(event.p);
          }
        };
      }),
    onMessage: (ws, listener) => ws.listeners.push(listener),
    say: (ws, text) => ws.send(JSON.stringify({ a: "chat", p: text })),
    close: (ws) => ws.close(),
  },
};
let protocol = protocols["socket.io"];

/** Tokens the app signed for the demo users, in their order, when the bench measures those (bench/run.mjs --jwt). */
const signedTokens = process.env[SIGNED_TOKENS_VAR] ? JSON.parse(process.env[SIGNED_TOKENS_VAR]) : null;

async function connectAndAuth(url, index, deflate, into = sockets, subscriptions = ["CHAT"]) {
  const started = performance.now();
  // Idle sockets take addresses after the measured ones'.
  const ip = address(into === idle ? 32_768 + index : index);
  const user = DEMO_USERS[index % DEMO_USERS.length];
  into.push(await protocol.join(url, signedTokens ? { ...user, token: signedTokens[index % DEMO_USERS.length] } : user, subscriptions, deflate, ip));
  return performance.now() - started;
}

const handlers = {
  /**
   * Connect `count` clients of `protocol`, `concurrency` at a time, offering permessage-deflate if `deflate`;
   * report each connect+auth time.
   */
  async connect({ url, count, offset, concurrency, deflate, protocol: name }) {
    protocol = protocols[name];
    const times = [];
    for (let next = 0; next < count; ) {
      const batch = [];
      for (let i = 0; i < concurrency && next < count; i++, next++) batch.push(connectAndAuth(url, offset + next, deflate));
      times.push(...(await Promise.all(batch)));
    }
    for (const socket of sockets) {
      protocol.onMessage(socket, (message) => {
        const sentAt = Number(message.text.split(" ")[1]);
        if (sentAt) latencies.push(Date.now() - sentAt);
      });
    }
    return { times };
  },
  /** Connect `count` sockets that stay idle until `close`, `concurrency` at a time (the `offset`th onwards). */
  async idle({ url, count, offset = 0, concurrency, deflate, protocol: name }) {
    protocol = protocols[name];
    for (let next = 0; next < count; ) {
      const batch = [];
      for (let i = 0; i < concurrency && next < count; i++, next++) batch.push(connectAndAuth(url, offset + next, deflate, idle, ["BETS"]));
      await Promise.all(batch);
    }
    return {};
  },
  /** Report what the subscribers received since the last call. */
  async collect() {
    return { latencies: latencies.splice(0) };
  },
  /** Send `count` messages at `rate` per second from one client; each carries its send time. */
  async send({ count, rate }) {
    const socket = sockets[0];
    const started = Date.now();
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      protocol.say(socket, `t ${Date.now()}`);
    }
    return {};
  },
  /** Post `count` deposits for alice, one at a time, timing each until it reaches a DEPOSITS socket. */
  async deposits({ url, count, token, deflate }) {
    const alice = DEMO_USERS.find((user) => user.uname === "alice");
    const socket = openSocket(url, deflate);
    await new Promise((resolve) => socket.once("connect", resolve));
    await new Promise((resolve) => socket.emit("auth", { app_id: 1, access_token: alice.token, subscriptions: ["DEPOSITS"] }, resolve));
    const times = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const arrived = new Promise((resolve) => socket.once("unconfirmed_balance_change", resolve));
      await fetch(`${url}/v1/apps/1/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ id: `bench-${process.pid}-${i}-${Date.now()}`, app_id: 1, type: "unconfirmed_balance_change", auth_id: alice.authId, balance: i, diff: 1 }),
      });
      await arrived;
      times.push(performance.now() - started);
    }
    socket.disconnect();
    return { times };
  },
  async close() {
    for (const socket of [...sockets.splice(0), ...idle.splice(0)]) protocol.close(socket);
    for (const client of stormClients.splice(0)) client.socket.disconnect();
    return {};
  },
  /**
   * Connect `count` clients written the way Socketpot apps are (they reconnect by themselves and send `auth` on
   * every connect), each as a demo user with CHAT, `concurrency` at a time; report each connect+auth time.
   */
  async stormConnect({ url, count, concurrency }) {
    const times = [];
    for (let next = 0; next < count; ) {
      const batch = [];
      for (let i = 0; i < concurrency && next < count; i++, next++) batch.push(stormClient(url, next));
      times.push(...(await Promise.all(batch)));
    }
    return { times };
  },
  /**
   * Every client's connection drops at once, as at a deploy, while one more client sends `messages` chat
   * messages. Resolves once every client has authenticated again: how long each took from the drop, how many got
   * their session back (the same socket id), the busiest second of re-authentications, and, for the messages
   * acknowledged, how many were missed or received twice over all clients.
   */
  async storm({ url, messages }) {
    const sender = await stormClient(url, stormClients.length).then(() => stormClients.pop());
    const before = stormClients.map((client) => ({ id: client.socket.id, auths: client.auths.length }));
    const dropped = performance.now();
    for (const client of stormClients) client.socket.io.engine.close();
    const acked = [];
    for (let i = 0; i < messages; i++) {
      const [error, message] = await new Promise((resolve) => sender.socket.emit("new_message", { text: `storm ${i}` }, (...reply) => resolve(reply)));
      if (error === null) acked.push(message.id);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const deadline = Date.now() + 120_000;
    while (stormClients.some((client, index) => client.auths.length === before[index].auths) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    // Messages sent just before the last re-authentication may still be on their way.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const times = stormClients.map((client, index) => (client.authedAt[before[index].auths] ?? NaN) - dropped);
    const bySecond = new Map();
    for (const time of times) bySecond.set(Math.floor(time / 1000), (bySecond.get(Math.floor(time / 1000)) ?? 0) + 1);
    let missed = 0;
    let twice = 0;
    for (const [index, client] of stormClients.entries()) {
      const seen = new Map();
      // A client that got its session back receives what it missed as events; one that did not, in its auth answer.
      const recovered = client.socket.id === before[index].id;
      const history = recovered ? [] : (client.histories[before[index].auths] ?? []);
      for (const id of [...client.received, ...history]) seen.set(id, (seen.get(id) ?? 0) + 1);
      for (const id of acked) {
        const count = seen.get(id) ?? 0;
        if (count === 0) missed += 1;
        if (count > 1) twice += count - 1;
      }
    }
    sender.socket.disconnect();
    return {
      times,
      recovered: stormClients.filter((client, index) => client.socket.id === before[index].id).length,
      peakPerSecond: Math.max(...bySecond.values()),
      acked: acked.length,
      missed,
      twice,
    };
  },
};

/**
 * The clients of the storm phases: each socket, when each of its auths was answered and the history it carried,
 * and the chat messages it received as events.
 */
const stormClients = [];

function stormClient(url, index) {
  const user = DEMO_USERS[index % DEMO_USERS.length];
  const socket = io(url, {
    query: { app_id: 1 },
    transports: ["websocket"],
    forceNew: true,
    timeout: 60_000,
    reconnectionDelay: 1_000,
    randomizationFactor: 0.5,
    extraHeaders: { "CF-Connecting-IP": address(index) },
    perMessageDeflate: false,
  });
  const client = { socket, auths: [], authedAt: [], histories: [], received: [] };
  stormClients.push(client);
  socket.on("new_message", (message) => client.received.push(message.id));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.on("connect", () => {
      socket.emit("auth", { app_id: 1, access_token: user.token, subscriptions: ["CHAT"] }, (error, response) => {
        client.auths.push(error);
        client.histories.push((response?.chat?.messages ?? []).map((message) => message.id));
        client.authedAt.push(performance.now());
        if (client.auths.length === 1) (error ? reject(new Error(error)) : resolve(performance.now() - started));
      });
    });
  });
}

process.on("message", async ({ id, phase, args }) => {
  try {
    process.send({ id, result: await handlers[phase](args) });
  } catch (error) {
    process.send({ id, error: String(error) });
  }
});
