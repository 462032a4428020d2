// `npm run soak`: a bounded reliability run on loopback. A fresh local server (real workerd, D1 and Queue) gets
// a mix of socket.io and plain-WebSocket clients; some send chat messages as fast as their acks come back,
// some drop their connections at random and come back (socket.io ones through connection state recovery,
// plain ones with resume_from). At the end every acked message must be in D1 exactly once, and every client
// must have received every message of its channels exactly once, in order. Prints the counts; exits 1 on any
// loss, duplicate or reordering. Sizes are flags (--clients, --senders, --messages, --churners, --plain,
// --drop-ms: the mean time between a churner's drops, --max-seconds, --seed, --shards: the app's connection
// shards).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";
import { DEMO_USERS, nextClientAddress, copySeededDatabase, startLocalServer, storedMessages } from "../scripts/local-server.mjs";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "200" },
    senders: { type: "string", default: "50" },
    messages: { type: "string", default: "10000" },
    churners: { type: "string", default: "40" },
    plain: { type: "string", default: "0.3" },
    "drop-ms": { type: "string", default: "2000" },
    "max-seconds": { type: "string", default: "600" },
    seed: { type: "string", default: "1" },
    shards: { type: "string", default: "1" },
  },
});
const options = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Number(value)]));
if (options.senders + options.churners > options.clients) throw new Error("--senders plus --churners must not exceed --clients");

const ADMIN_TOKEN = "soak-admin-token";
const CHANNELS = ["lobby", "games", "vip", "help"];

// A small seeded generator, so that a run can be repeated exactly (--seed).
let state = options.seed >>> 0 || 1;
const random = () => ((state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
const pick = (list) => list[Math.floor(random() * list.length)];
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const started = Date.now();
const deadline = started + options["max-seconds"] * 1000;
const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

const persistTo = await mkdtemp(join(tmpdir(), "socketpot-soak-"));
await copySeededDatabase(persistTo);
log("database copied");
const server = await startLocalServer({
  persistTo,
  vars: {
    ADMIN_TOKEN,
    CHAT_RATE_BURST: "1000000",
    CHAT_RATE_PER_SECOND: "1000000",
    MAX_CONNECTIONS_PER_IP: "100000",
    ROOM_SHARDS: String(options.shards),
  },
});
log(`server ready at ${server.url}`);
let failed = false;
try {
  failed = !(await soak(server.url));
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  // What the server logged of failed requests and feeds, to tell where a failed run lost its way.
  const trouble = server.output().split("\n").filter((line) => /"event":"(request_failed|feed_\w+|shard_unreachable|unhandled_error)"/.test(line));
  if (failed && trouble.length > 0) console.error(`server trouble (${trouble.length} lines):\n${trouble.slice(0, 20).join("\n")}`);
  if (failed) console.error(`the server printed, last 20,000 characters:\n${server.output().slice(-20_000)}`);
  await server.stop();
  await rm(persistTo, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** One client and what it has seen. Every client keeps the id of each message of its channels, in arrival order. */
function newClient(index) {
  const kind = index % Math.round(1 / options.plain) === 0 ? "plain" : "socket.io";
  const channels = CHANNELS.filter(() => random() < 0.5);
  if (channels.length === 0) channels.push(pick(CHANNELS));
  return {
    index,
    kind,
    // Senders need a user; listeners are a mix of users and anonymous connections.
    user: index < options.senders ? DEMO_USERS[index % DEMO_USERS.length] : pick([...DEMO_USERS, null]),
    channels: new Set(channels),
    received: [],
    lastId: 0,
    connects: 0,
    /** The socket.io socket id of its latest connect. */
    socketId: null,
    recovered: 0,
    resumed: 0,
    truncated: false,
    /** Whether the current connection's auth was answered: only then is it dropped, as a client that never
     * gets to finish resuming tests nothing (and socket.io-client does not retry an engine closed mid-open). */
    authenticated: false,
    session: null,
  };
}

/** Notes a message the client received (live, replayed, or in a resume). */
function receive(client, message) {
  client.lastId = Math.max(client.lastId, message.id);
  if (client.channels.has(message.channel)) client.received.push(message.id);
}

/** Sends `auth` as apps do on every connect; after a reconnect that was not recovered, with resume_from. */
function authPayload(client, resume) {
  return {
    app_id: 1,
    subscriptions: ["CHAT"],
    ...(client.user ? { access_token: client.user.token } : {}),
    ...(resume ? { resume_from: client.lastId } : {}),
  };
}

function afterAuth(client, response, resume) {
  client.authenticated = true;
  if (!resume) return;
  client.resumed += 1;
  if (response.chat?.truncated) client.truncated = true;
  for (const message of response.chat?.messages ?? []) receive(client, message);
}

/** A socket.io client that reconnects by itself; resolves once its first auth is answered. */
function openSocketIo(url, client) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      query: { app_id: 1 },
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1_000,
      extraHeaders: { "CF-Connecting-IP": nextClientAddress() },
    });
    // Each reconnect opens a new Engine.IO connection with the manager's options as they are then, here from a
    // new address (CF-Connecting-IP), as a phone changing networks: an app's shards take connections by
    // address, so a reconnect usually lands on another shard. Plain clients get a new address per connect too.
    socket.io.on("reconnect_attempt", () => (socket.io.opts.extraHeaders["CF-Connecting-IP"] = nextClientAddress()));
    client.session = {
      drop: () => client.authenticated && socket.io.engine.close(),
      send: (payload) => new Promise((done) => socket.emit("new_message", payload, (error, message) => done({ error, message }))),
      close: () => socket.disconnect(),
      connected: () => socket.connected,
    };
    socket.on("new_message", (message) => receive(client, message));
    socket.on("disconnect", () => (client.authenticated = false));
    socket.on("connect", () => {
      client.connects += 1;
      client.authenticated = false;
      // A recovered session keeps its socket id; it gets a new pid, so socket.io-client's `recovered` reads false.
      const recovered = client.connects > 1 && socket.id === client.socketId;
      client.socketId = socket.id;
      if (recovered) client.recovered += 1;
      const resume = client.connects > 1 && !recovered;
      socket.emit("auth", authPayload(client, resume), (error, response) => {
        if (error) return reject(new Error(`auth failed: ${error}`));
        afterAuth(client, response, resume);
        resolve();
      });
    });
  });
}

/** A plain-WebSocket client; on a drop it opens a new socket after a pause and resumes from its last message. */
function openPlain(url, client) {
  let ws;
  let nextId = 0;
  const pending = new Map();
  let wanted = true;
  const connect = (resume) =>
    new Promise((resolve, reject) => {
      ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/apps/1/ws`, { headers: { "CF-Connecting-IP": nextClientAddress() } });
      ws.addEventListener("open", () => {
        client.connects += 1;
        client.authenticated = false;
        const id = `auth${nextId++}`;
        pending.set(id, (reply) => {
          if (reply.a !== "ack") return reject(new Error(`auth failed: ${JSON.stringify(reply.p)}`));
          afterAuth(client, reply.p.result, resume);
          resolve();
        });
        ws.send(JSON.stringify({ a: "auth", p: authPayload(client, resume), id }));
      });
      ws.addEventListener("message", (event) => {
        if (event.data === "h") return;
        for (const frame of JSON.parse(event.data)) {
          if (frame.a === "new_message") receive(client, frame.p);
          else if (frame.a === "ack" || frame.a === "error") {
            pending.get(frame.p.id)?.(frame);
            pending.delete(frame.p.id);
          }
        }
      });
      ws.addEventListener("close", () => {
        client.authenticated = false;
        for (const settle of pending.values()) settle({ a: "error", p: { error: "CONNECTION_LOST" } });
        pending.clear();
        // A drop during the auth itself loses its answer; the next attempt resumes from the same message.
        if (wanted) setTimeout(() => connect(true).catch(() => {}), 200 + random() * 800);
      });
      ws.addEventListener("error", () => {});
    });
  client.session = {
    drop: () => client.authenticated && ws.close(),
    send: (payload) =>
      new Promise((done) => {
        const id = `m${nextId++}`;
        pending.set(id, (reply) => done(reply.a === "ack" ? { error: null, message: reply.p.result } : { error: reply.p.error }));
        ws.send(JSON.stringify({ a: "chat", p: payload, id }));
      }),
    close: () => {
      wanted = false;
      ws.close();
    },
    connected: () => ws.readyState === WebSocket.OPEN,
  };
  return connect(false);
}

async function soak(url) {
  const before = new Set((await storedMessages(url, ADMIN_TOKEN)).map((message) => message.id));
  const clients = Array.from({ length: options.clients }, (_, index) => newClient(index));
  for (const client of clients) await (client.kind === "plain" ? openPlain(url, client) : openSocketIo(url, client));
  const senders = clients.slice(0, options.senders);
  const churners = clients.slice(options.senders, options.senders + options.churners);
  log(`${clients.length} clients connected (${clients.filter((c) => c.kind === "plain").length} plain), ${senders.length} sending, ${churners.length} dropping at random`);

  const acked = [];
  let refused = 0;
  let sent = 0;
  let sending = true;
  const churn = churners.map(async (client) => {
    while (sending && Date.now() < deadline) {
      await pause(options["drop-ms"] * (0.25 + random()));
      if (sending) client.session.drop();
    }
  });
  await Promise.all(
    senders.map(async (sender) => {
      while (sent < options.messages && Date.now() < deadline) {
        sent += 1;
        const text = `soak ${sender.index}-${sent}`;
        const { error, message } = await sender.session.send({ text, channel: pick(CHANNELS) });
        if (error) {
          refused += 1;
          if (refused <= 3) log(`refused: ${error}`);
        }
        else acked.push({ id: message.id, text });
        if (acked.length % 1_000 === 0 && !error) log(`${acked.length} messages acked`);
      }
    }),
  );
  sending = false;
  await Promise.all(churn);
  if (Date.now() >= deadline) throw new Error(`the run did not finish within ${options["max-seconds"]} s`);

  const stored = (await storedMessages(url, ADMIN_TOKEN)).filter((message) => !before.has(message.id));
  const lastId = Math.max(...stored.map((message) => message.id));
  // Wait for the churners to be back and for every client to have heard the last message (or for quiet).
  for (let quiet = 0, before = -1; quiet < 20 && Date.now() < deadline; ) {
    await pause(250);
    const total = clients.reduce((sum, client) => sum + client.received.length, 0);
    const settled = clients.every((client) => client.session.connected() && client.lastId >= lastId);
    if (settled) break;
    quiet = total === before ? quiet + 1 : 0;
    before = total;
  }
  const disconnected = clients.filter((client) => !client.session.connected()).length;
  for (const client of clients) client.session.close();

  const textCounts = new Map();
  for (const message of stored) textCounts.set(message.text, (textCounts.get(message.text) ?? 0) + 1);
  const storedById = new Map(stored.map((message) => [message.id, message]));
  const ackedMissing = acked.filter(({ id, text }) => storedById.get(id)?.text !== text).length;
  const ackedDuplicated = acked.filter(({ text }) => (textCounts.get(text) ?? 0) > 1).length;

  let lost = 0;
  let duplicated = 0;
  let reordered = 0;
  let deliveries = 0;
  const byKind = (kind, stable) => clients.filter((c) => c.kind === kind && churners.includes(c) !== stable);
  const lostBy = new Map();
  for (const client of clients) {
    const expected = stored.filter((message) => client.channels.has(message.channel)).map((message) => message.id);
    const got = new Set(client.received);
    deliveries += client.received.length;
    const missing = expected.filter((id) => !got.has(id)).length;
    lost += missing;
    const group = `${client.kind} ${churners.includes(client) ? "dropping" : "staying"}`;
    if (missing > 0) lostBy.set(group, [...(lostBy.get(group) ?? []), `#${client.index}:${missing}/${expected.length} recovered ${client.recovered} resumed ${client.resumed} connects ${client.connects}`]);
    duplicated += client.received.length - got.size;
    reordered += client.received.filter((id, index) => index > 0 && id <= client.received[index - 1]).length;
  }
  const total = (list, count) => list.reduce((sum, client) => sum + count(client), 0);
  const churned = total(churners, (client) => client.connects - 1);
  const recovered = total(churners, (client) => client.recovered);
  const notRecovered = total(churners, (client) => (client.kind === "socket.io" ? client.resumed : 0));
  const resumed = total(churners, (client) => (client.kind === "plain" ? client.resumed : 0));
  const truncated = clients.filter((client) => client.truncated).length;

  const rows = [
    ["connection shards", String(options.shards)],
    ["clients (socket.io / plain)", `${clients.length} (${clients.length - byKind("plain", true).length - byKind("plain", false).length} / ${byKind("plain", true).length + byKind("plain", false).length})`],
    ["stayed connected / dropped at random", `${clients.length - churners.length} / ${churners.length}`],
    ["reconnects (socket.io recovered / not recovered / plain resumed)", `${churned} (${recovered} / ${notRecovered} / ${resumed})`],
    ["clients not connected at the end", String(disconnected)],
    ["messages sent / acked / refused", `${sent} / ${acked.length} / ${refused}`],
    ["messages in D1", String(stored.length)],
    ["acked but missing from D1", String(ackedMissing)],
    ["acked and stored more than once", String(ackedDuplicated)],
    ["deliveries checked", String(deliveries)],
    ["lost (a client missed a message of its channels)", String(lost)],
    ["duplicated", String(duplicated)],
    ["out of order", String(reordered)],
    ["resumes that were truncated", String(truncated)],
    ["seconds", ((Date.now() - started) / 1000).toFixed(1)],
  ];
  for (const [group, details] of lostBy) log(`losses among ${group} clients: ${details.slice(0, 5).join("; ")}`);
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log("\n" + rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n"));
  const ok = refused === 0 && disconnected === 0 && acked.length === stored.length && ackedMissing + ackedDuplicated + lost + duplicated + reordered + truncated === 0;
  console.log(ok ? "\nsoak passed: nothing lost, duplicated or reordered" : "\nsoak FAILED");
  return ok;
}
