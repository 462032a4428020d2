// A load process: connects its share of socket.io clients to one server and runs the phases it is told to,
// reporting measurements to the parent over IPC. Runs as a separate process from the servers.
import { io } from "socket.io-client";
import { DEMO_USERS, clientAddress as address } from "../scripts/local-server.mjs";

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

async function connectAndAuth(url, index, deflate, into = sockets, subscriptions = ["CHAT"]) {
  const started = performance.now();
  // Idle sockets take addresses after the measured ones'.
  const ip = address(into === idle ? 32_768 + index : index);
  into.push(await protocol.join(url, DEMO_USERS[index % DEMO_USERS.length], subscriptions, deflate, ip));
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
    return {};
  },
};

process.on("message", async ({ id, phase, args }) => {
  try {
    process.send({ id, result: await handlers[phase](args) });
  } catch (error) {
    process.send({ id, error: String(error) });
  }
});
