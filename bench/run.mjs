// `npm run bench`: Socketpot Edge (real workerd through Miniflare, real local D1 and Queue) side by side with a
// Node server on the official socket.io package implementing the same chat subset. Load comes from separate
// client processes. Prints one table; sizes are flags (--clients, --loaders, --rate, --seconds, --deposits).
// A floor column (bench/floor-worker.mjs: a bare Durable Object doing only the unavoidable work on the same
// workerd) tells what our code costs; the Node column tells what the platform costs. Two more columns run the
// same load over Socketpot's plain-WebSocket protocol: ours, and the same chat subset on partyserver
// (bench/partyserver-worker.mjs), the room library a Cloudflare developer would pick.
// --idle LOW,HIGH measures only connect+auth, among LOW idle sockets (authenticated, subscribed to the quiet BETS
// feed) and among HIGH, alternating LOW, HIGH, LOW, HIGH, LOW on one server after an uncounted round at each:
// separate runs for each level drifted with the machine's speed by more than the difference they were to show.
// --jwt adds a column with the clients authenticating with tokens the app signed (JWTs) instead of UUID tokens.
// --webhooks adds two columns with the demo app's webhooks on (an endpoint taking every event type, at a receiver
// in this process that answers, and at one that never answers), and a table of the room's own work per chat
// message with them off and on. --counting adds a table of the room's own work per chat message with its
// counts by minute off and on.
// --cold prints instead the cold path beside the floor's: bundle bytes (raw and gzipped), the module start-up (the
// CPU one fresh isolate takes to compile and evaluate the script, and to compile it alone, and `wrangler check
// startup`'s profile of it),
// the first request after it, and on fresh servers (three of each) the first --clients connect+auths (CPU each,
// p50, p99, medians over the servers), then as many again, warm.
// --shards K adds a column with the app on K connection shards (beside one room), and a second table: the
// ordering room's own CPU per chat message as subscribers grow (bench/ordering.bench.ts, in Node).
// --via-wrangler measures the server through `wrangler dev` (and its dev proxy) instead. --skip node,plain,partyserver
// leaves those columns out (the floor always runs: every ratio is to it), for shorter runs.
// --no-deflate makes the clients not offer WebSocket compression: browsers offer it, and the deployed Worker
// refuses it, but the local workers in front of it (Miniflare's entry, wrangler dev's proxy) accept it, so
// locally only the client can turn it off.
import { fork } from "node:child_process";
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildWorker, freePort, copySeededDatabase, startLocalServer, treeRss, wrangler } from "../scripts/local-server.mjs";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { DEMO_USERS } from "../scripts/demo-users.mjs";
import { SIGNED_TOKENS_VAR, busyMs, connectRound, isolatesStartup, loadVars, loader, percentile, startWorkerd, threadCpuNs, totalCpuNs, writeEmptyModule } from "./harness.mjs";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    loaders: { type: "string", default: "2" },
    concurrency: { type: "string", default: "50" },
    rate: { type: "string", default: "10" },
    seconds: { type: "string", default: "5" },
    deposits: { type: "string", default: "50" },
    shards: { type: "string", default: "1" },
    idle: { type: "string" },
    deflate: { type: "boolean", default: true },
    "via-wrangler": { type: "boolean", default: false },
    storm: { type: "boolean", default: false },
    jwt: { type: "boolean", default: false },
    webhooks: { type: "boolean", default: false },
    counting: { type: "boolean", default: false },
    cold: { type: "boolean", default: false },
    skip: { type: "string", default: "" },
  },
  allowNegative: true,
});
const { deflate, "via-wrangler": viaWrangler, storm, jwt, webhooks, counting, cold, skip, idle, ...sizes } = values;
const skipped = new Set(skip.split(",").filter(Boolean));
const options = Object.fromEntries(Object.entries(sizes).map(([key, value]) => [key, Number(value)]));
const idleLevels = idle?.split(",").map(Number) ?? null;
if (idleLevels && !(idleLevels.length === 2 && idleLevels.every(Number.isInteger) && 0 <= idleLevels[0] && idleLevels[0] < idleLevels[1])) {
  throw new Error("--idle takes two counts of idle sockets, the lower first: --idle 100,3000");
}
const INGEST_TOKEN = "bench-ingest-token";
const ADMIN_TOKEN = "bench-admin-token";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many workerd threads did the server's work between two samples, and the busiest one's share of it. */
function threadSpread(before, after) {
  const used = [...after].map(([thread, ns]) => ns - (before.get(thread) ?? 0)).filter((ns) => ns > 0);
  const total = used.reduce((sum, ns) => sum + ns, 0);
  const busy = used.filter((ns) => ns >= total * 0.05);
  return { threads: total > 0 ? busy.length : NaN, busiestShare: total > 0 ? Math.max(...used) / total : NaN };
}


/** Runs the load on one server over `protocol` ("socket.io" or "plain"); deposits only over socket.io. */
async function measure(name, url, serverPid, protocol = "socket.io") {
  const loaders = Array.from({ length: options.loaders }, loader);
  const rssBefore = treeRss(serverPid);
  const cpuBefore = threadCpuNs(serverPid);
  const serverCpuBefore = threadCpuNs(serverPid, true);
  const share = Math.ceil(options.clients / options.loaders);
  const connects = await Promise.all(
    loaders.map((each, index) =>
      each.run("connect", { url, count: Math.min(share, options.clients - index * share), offset: index * share, concurrency: options.concurrency, deflate, protocol }),
    ),
  );
  const connectTimes = connects.flatMap((result) => result.times);
  const connectNs = totalCpuNs(threadCpuNs(serverPid, true)) - totalCpuNs(serverCpuBefore);
  await pause(2_000);
  const rssIdle = treeRss(serverPid);

  const sent = options.rate * options.seconds;
  const sendCpuBefore = threadCpuNs(serverPid, true);
  await loaders[0].run("send", { count: sent, rate: options.rate });
  await pause(2_000);
  const sendNs = totalCpuNs(threadCpuNs(serverPid, true)) - totalCpuNs(sendCpuBefore);
  const latencies = (await Promise.all(loaders.map((each) => each.run("collect")))).flatMap((result) => result.latencies);
  await Promise.all(loaders.map((each) => each.run("close")));
  for (const each of loaders) each.kill();

  let deposits = [];
  if (protocol === "socket.io") {
    const depositLoader = loader();
    deposits = (await depositLoader.run("deposits", { url, count: options.deposits, token: INGEST_TOKEN, deflate })).times;
    depositLoader.kill();
  }
  const spread = threadSpread(cpuBefore, threadCpuNs(serverPid));

  return {
    name,
    connectP50: percentile(connectTimes, 50),
    connectP99: percentile(connectTimes, 99),
    cpuPerConnect: connectNs / 1000 / connectTimes.length,
    cpuPerMessage: sendNs / 1000 / sent,
    deliveries: latencies.length,
    expected: sent * options.clients,
    deliveriesPerSecond: latencies.length / options.seconds,
    fanoutP50: percentile(latencies, 50),
    fanoutP99: percentile(latencies, 99),
    bytesPerConnection: (rssIdle - rssBefore) / options.clients,
    depositP50: percentile(deposits, 50),
    depositP99: percentile(deposits, 99),
    busyThreads: spread.threads,
    busiestThreadShare: spread.busiestShare * 100,
  };
}

/**
 * --idle: connect+auth of --clients clients among `low` idle sockets, then among `high`, alternating five times
 * on one server after a round at each level. The measured clients close after each step, and the idle ones
 * above `low` after each `high` one.
 */
async function measureAmongIdle(name, url, serverPid, protocol = "socket.io") {
  const [low, high] = idleLevels;
  const [base, extra, measured] = [loader(), loader(), loader()];
  const { concurrency } = options;
  const steps = [];
  try {
    await base.run("idle", { url, count: low, concurrency, deflate, protocol });
    // A first round at each level, not counted: the isolate's warm-up, and whatever a process does the first time
    // it holds `high` connections, happen once per process, not at each connect among them.
    for (const [index, level] of [low, high, low, high, low, high, low].entries()) {
      if (level === high) await extra.run("idle", { url, count: high - low, offset: low, concurrency, deflate, protocol });
      // Let the server settle after thousands of connects or closes before measuring: for seconds after a few
      // thousand sockets closed, even the floor's CPU per connect was half as much again.
      await pause(level === high ? 5_000 : 15_000);
      const cpuBefore = threadCpuNs(serverPid, true);
      const { times } = await measured.run("connect", { url, count: options.clients, offset: 0, concurrency, deflate, protocol });
      const cpu = totalCpuNs(threadCpuNs(serverPid, true)) - totalCpuNs(cpuBefore);
      if (index >= 2) steps.push({ idle: level, p50: percentile(times, 50), p99: percentile(times, 99), cpuPerConnect: cpu / 1000 / times.length });
      await measured.run("close");
      if (level === high) await extra.run("close");
    }
  } finally {
    for (const each of [base, extra, measured]) each.kill();
  }
  return { name, steps };
}

/** Socketpot Edge on workerd, directly through Miniflare or (--via-wrangler) through `wrangler dev`. */
async function startSocketpot(persistTo, vars) {
  if (viaWrangler) {
    const server = await startLocalServer({ persistTo, vars });
    return { name: "Socketpot Edge (wrangler dev)", url: server.url, pid: server.pid, stop: server.stop };
  }
  const script = await buildWorker(join(persistTo, "build"));
  return startWorkerd("Socketpot Edge (workerd)", { persistTo, script, vars });
}

/** Measures a server started by `start` and stops it. */
async function measured(start, protocol) {
  const server = await start();
  try {
    return await (idleLevels ? measureAmongIdle : measure)(server.name, server.url, server.pid, protocol);
  } finally {
    await server.stop();
  }
}

/** The floor: a bare Durable Object behind the same route on the same workerd (bench/floor-worker.mjs). */
const floor = () => measured(() => startWorkerd("floor (bare Durable Object)", { floor: true }));

/** The chat subset on partyserver, over the plain-WebSocket protocol (bench/partyserver-worker.mjs). */
async function partyserver() {
  const build = await mkdtemp(join(tmpdir(), "socketpot-bench-partyserver-"));
  try {
    const script = await buildWorker(build, fileURLToPath(new URL("./partyserver.wrangler.toml", import.meta.url)));
    return await measured(() => startWorkerd("partyserver (plain WS)", { partyserver: script }), "plain");
  } finally {
    await rm(build, { recursive: true, force: true });
  }
}

/**
 * Socketpot Edge with the demo app on `shards` connection shards, its clients speaking `protocol`; with `signed`,
 * they authenticate with tokens the app signed (JWTs) instead of the demo's UUID tokens; with `hooks`, the app
 * has a webhook endpoint taking every event type, at a receiver in this process that answers 204 ("answering")
 * or never answers ("hanging").
 */
async function socketpot(shards, protocol = "socket.io", { signed = false, hooks = null } = {}) {
  const persistTo = await mkdtemp(join(tmpdir(), "socketpot-bench-"));
  const vars = { ...loadVars(shards), INGEST_TOKEN, ADMIN_TOKEN, WEBHOOK_SECRETS_KEY: "bench-webhook-secrets-key-0123456789", WEBHOOK_ALLOW_HTTP_LOOPBACK: "true" };
  const receiver = hooks ? await webhookReceiver(hooks === "hanging") : null;
  try {
    await copySeededDatabase(persistTo);
    const result = await measured(async () => {
      const server = await startSocketpot(persistTo, vars);
      // The loaders forked for this server read the tokens from their environment.
      if (signed) process.env[SIGNED_TOKENS_VAR] = JSON.stringify(await signedDemoTokens(server.url));
      if (receiver) await addWebhook(server.url, receiver.url);
      const layout = shards === 1 ? "one room" : `${shards} shards`;
      return { ...server, name: `${server.name}, ${layout}${protocol === "plain" ? ", plain WS" : ""}${signed ? ", signed tokens" : ""}${hooks ? `, webhooks on (endpoint ${hooks})` : ""}` };
    }, protocol);
    return { ...result, webhookDeliveries: receiver?.received() ?? NaN };
  } finally {
    delete process.env[SIGNED_TOKENS_VAR];
    await receiver?.close();
    await rm(persistTo, { recursive: true, force: true });
  }
}

/** An HTTP receiver on the loopback that counts deliveries and answers each 204, or (`hanging`) never. */
async function webhookReceiver(hanging) {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received += 1;
      if (!hanging) response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    received: () => received,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Registers an endpoint at `receiverUrl` for every event type of the demo app. */
async function addWebhook(url, receiverUrl) {
  const events = ["message.created", "message.deleted", "user.joined", "user.left", "user.muted", "user.unmuted", "user.banned", "user.unbanned", "deposit.delivered"];
  const created = await fetch(`${url}/v1/admin/apps/1/webhooks`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ url: receiverUrl, events }),
  });
  if (created.status !== 201) throw new Error(`registering the bench's webhook: HTTP ${created.status} ${await created.text()}`);
}

/** Registers an ES256 key for the demo app and signs a token (an hour long) for each demo user, in their order. */
async function signedDemoTokens(url) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const registered = await fetch(`${url}/v1/admin/apps/1/signing-keys`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ jwk: { ...(await exportJWK(publicKey)), kid: "bench" } }),
  });
  if (registered.status !== 201) throw new Error(`registering the bench's signing key: HTTP ${registered.status}`);
  return Promise.all(
    DEMO_USERS.map((user) =>
      new SignJWT({ name: user.uname, role: user.role })
        .setProtectedHeader({ alg: "ES256", kid: "bench" })
        .setAudience("app:1")
        .setSubject(String(user.authId))
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    ),
  );
}

const baseline = () =>
  measured(async () => {
    const port = await freePort();
    const child = fork(new URL("./baseline-server.mjs", import.meta.url), [String(port)], { stdio: "inherit" });
    await new Promise((resolve) => child.once("message", resolve));
    return { name: "Node socket.io 4.x", url: `http://127.0.0.1:${port}`, pid: child.pid, stop: async () => child.kill() };
  });

const format = (value, unit) => (Number.isFinite(value) ? `${value.toFixed(value >= 100 ? 0 : 1)}${unit}` : "n/a");
const rows = [
  ["connect+auth p50", "connectP50", "ms"],
  ["connect+auth p99", "connectP99", "ms"],
  ["server CPU per connect+auth", "cpuPerConnect", " µs"],
  ["server CPU per chat message (its fan-out included)", "cpuPerMessage", " µs"],
  ["fan-out deliveries/s", "deliveriesPerSecond", ""],
  ["fan-out delivered / expected", null, ""],
  ["fan-out latency p50", "fanoutP50", "ms"],
  ["fan-out latency p99", "fanoutP99", "ms"],
  ["memory per idle connection", "bytesPerConnection", ""],
  ["deposit ingest→socket p50", "depositP50", "ms"],
  ["deposit ingest→socket p99", "depositP99", "ms"],
  ["workerd threads with ≥ 5% of workerd's CPU", "busyThreads", ""],
  ["busiest workerd thread's share", "busiestThreadShare", "%"],
  ["webhook deliveries received (answered or not)", "webhookDeliveries", ""],
];

/** The ordering room's median time per chat message for each shard count and audience (vitest bench, in Node). */
function orderingCosts() {
  const output = join(tmpdir(), `socketpot-ordering-${process.pid}.json`);
  execFileSync("npx", ["vitest", "bench", "--run", "--project", "unit", "bench/ordering.bench.ts", "--outputJson", output], { stdio: "ignore" });
  return readFile(output, "utf8").then((text) => JSON.parse(text).files[0].groups.flatMap((group) => group.benchmarks));
}

/**
 * --storm: --clients clients of the demo app (apps' way: reconnecting by themselves, `auth` on every connect)
 * lose their connections at once, as at a deploy, while one more sends 50 chat messages; on one room, then on
 * automatic shards (a target that spreads the clients over about eight). The room's and each shard's requests
 * are read from the stats endpoint, over a minute that holds nothing but the storm.
 */
async function stormOn(layout) {
  const persistTo = await mkdtemp(join(tmpdir(), "socketpot-bench-storm-"));
  const automatic = layout === "automatic shards";
  const vars = {
    ...loadVars(1),
    INGEST_TOKEN,
    ADMIN_TOKEN,
    ...(automatic ? { ROOM_SHARDS: "auto", SHARD_TARGET_CONNECTIONS: String(Math.ceil(options.clients / 8 / 0.75)) } : {}),
  };
  const load = loader();
  try {
    await copySeededDatabase(persistTo);
    const server = await startSocketpot(persistTo, vars);
    try {
      const { times: connectTimes } = await load.run("stormConnect", { url: server.url, count: options.clients, concurrency: options.concurrency });
      // A first storm, not counted, as after the deploy before: the clients that connected while the app was
      // growing, and still sit on its room, reconnect onto its shards (growing moves no connection).
      await load.run("storm", { url: server.url, messages: 5 });
      await pause(61_000);
      const result = await load.run("storm", { url: server.url, messages: 50 });
      const stats = await (await fetch(`${server.url}/v1/admin/apps/1/stats`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
      const room = stats.shards.find((shard) => shard.shard === 0);
      const others = stats.shards.filter((shard) => shard.shard !== 0);
      await load.run("close");
      return {
        name: `${server.name}, ${layout}`,
        connectP50: percentile(connectTimes, 50),
        reconnectP50: percentile(result.times, 50),
        reconnectP99: percentile(result.times, 99),
        recovered: `${result.recovered} / ${options.clients}`,
        lost: `${result.missed} missed, ${result.twice} twice, of ${result.acked} acked × ${options.clients}`,
        reauthPeak: result.peakPerSecond,
        shardCount: stats.shard_count,
        roomPeak: room.peak_requests_per_second,
        shardPeak: others.length ? Math.max(...others.map((shard) => shard.peak_requests_per_second)) : NaN,
      };
    } finally {
      await server.stop();
    }
  } finally {
    load.kill();
    await rm(persistTo, { recursive: true, force: true });
  }
}

/**
 * --cold's module start-up: a workerd runs the script as STARTUP_ISOLATES Workers of it alone (one isolate each, no
 * bindings), another as many of an empty module, a third as many of the empty module with the script uploaded
 * beside it but never imported; their differences in workerd's CPU time when ready, over the isolates, are what
 * one isolate takes to compile and evaluate the script, and to compile it alone. STARTUP_ROUNDS such triples,
 * interleaved so that the machine's drift reaches each alike. (Eleven isolates a side with the Worker's bindings,
 * as this was first measured, spread from 2 to 32 ms in one run.)
 */
const STARTUP_ISOLATES = 21;
const STARTUP_ROUNDS = 9;
/** Fresh servers, of ours and of the floor, whose first and next --clients connects --cold measures. */
const COLD_CONNECT_SERVERS = 3;
/** Runs of `wrangler check startup` (Cloudflare's own start-up profile) for --cold. */
const STARTUP_PROFILES = 5;

/**
 * The busy time of `wrangler check startup`'s CPU profile of the Worker's start-up (samples that are not idle),
 * in ms: the measure Cloudflare's docs give for the 1 s start-up limit, here on this machine's workerd.
 */
async function startupProfileMs(directory) {
  const outfile = join(directory, "startup.cpuprofile");
  await wrangler(["check", "startup", "--outfile", outfile]);
  return busyMs(JSON.parse(await readFile(outfile, "utf8")));
}

if (cold) {
  const build = await mkdtemp(join(tmpdir(), "socketpot-cold-"));
  try {
    const script = await buildWorker(join(build, "build"));
    const bundle = await readFile(script);
    const floorModules = await Promise.all(["bench/floor-worker.mjs", "scripts/demo-users.mjs"].map((path) => readFile(fileURLToPath(new URL(`../${path}`, import.meta.url)))));
    const floorBundle = Buffer.concat(floorModules);
    const vars = { ...loadVars(1), INGEST_TOKEN, ADMIN_TOKEN };
    const empty = await writeEmptyModule(build);
    const fresh = async (name, script) => {
      const persistTo = await mkdtemp(join(build, "state-"));
      await copySeededDatabase(persistTo);
      return startWorkerd(name, { persistTo, script, vars });
    };
    const median = (values) => percentile(values, 50);
    const started = (isolates) => isolatesStartup({ ...isolates, count: STARTUP_ISOLATES });
    const startup = { evaluated: [], compiled: [] };
    const firstRequest = { ours: [], empty: [] };
    for (let round = 0; round < STARTUP_ROUNDS; round++) {
      const none = await started({ main: empty });
      const ours = await started({ main: script });
      const compiled = await started({ main: empty, unimported: script });
      startup.evaluated.push((ours.readyCpuMs - none.readyCpuMs) / STARTUP_ISOLATES);
      startup.compiled.push((compiled.readyCpuMs - none.readyCpuMs) / STARTUP_ISOLATES);
      firstRequest.ours.push(ours.firstRequestMs);
      firstRequest.empty.push(none.firstRequestMs);
    }
    const profiles = [];
    for (let run = 0; run < STARTUP_PROFILES; run++) profiles.push(await startupProfileMs(build));
    // Fresh servers of each take the connects, in turn: the first --clients into the new isolate, then as many
    // again, warm. Each figure is the median over the servers (one server's first round varied by a fifth).
    const rounds = { ours: [], floor: [] };
    const round = { count: options.clients, concurrency: options.concurrency, deflate };
    for (let server = 0; server < COLD_CONNECT_SERVERS; server++) {
      for (const [kind, start] of [["ours", () => fresh("Socketpot Edge", script)], ["floor", () => startWorkerd("floor", { floor: true })]]) {
        const running = await start();
        const first = await connectRound(running, round);
        await pause(2_000);
        rounds[kind].push({ first, warm: await connectRound(running, round) });
        await running.stop();
      }
    }
    const medianRound = (kind, round) =>
      Object.fromEntries(["cpuPerConnect", "p50", "p99"].map((key) => [key, median(rounds[kind].map((each) => each[round][key]))]));
    const connects = Object.fromEntries(["ours", "floor"].map((kind) => [kind, { first: medianRound(kind, "first"), warm: medianRound(kind, "warm") }]));
    const gzipped = (bytes) => gzipSync(bytes, { level: 9 }).length;
    const rows = [
      ["bundle, raw", bundle.length, floorBundle.length, " bytes"],
      ["bundle, gzipped", gzipped(bundle), gzipped(floorBundle), " bytes"],
      [
        `module start-up, CPU per isolate: compiled and evaluated (${STARTUP_ISOLATES} isolates of it less ${STARTUP_ISOLATES} of an empty module; median of ${STARTUP_ROUNDS}: ${startup.evaluated.map((each) => each.toFixed(1)).join(", ")})`,
        median(startup.evaluated),
        // The floor's two small modules are within the empty module's spread.
        NaN,
        "ms",
      ],
      [`  of which compiling (the script uploaded beside the empty module, never imported; median of ${STARTUP_ROUNDS})`, median(startup.compiled), NaN, "ms"],
      [`start-up profile, busy (wrangler check startup; median of ${STARTUP_PROFILES}: ${profiles.map((each) => each.toFixed(1)).join(", ")})`, median(profiles), NaN, "ms"],
      [`first request after start-up, /health, median of ${STARTUP_ROUNDS} (the empty module: ${format(median(firstRequest.empty), "ms")})`, median(firstRequest.ours), NaN, "ms"],
      [`server CPU per connect+auth, a fresh server's first ${options.clients} (median of ${COLD_CONNECT_SERVERS} servers)`, connects.ours.first.cpuPerConnect, connects.floor.first.cpuPerConnect, " µs"],
      [`connect+auth p50, first ${options.clients}`, connects.ours.first.p50, connects.floor.first.p50, "ms"],
      [`connect+auth p99, first ${options.clients}`, connects.ours.first.p99, connects.floor.first.p99, "ms"],
      [`server CPU per connect+auth, the next ${options.clients} (warm; median of ${COLD_CONNECT_SERVERS})`, connects.ours.warm.cpuPerConnect, connects.floor.warm.cpuPerConnect, " µs"],
      [`connect+auth p50, warm`, connects.ours.warm.p50, connects.floor.warm.p50, "ms"],
      [`connect+auth p99, warm`, connects.ours.warm.p99, connects.floor.warm.p99, "ms"],
    ];
    console.log(`\nSocketpot Edge cold start: ${options.clients} clients${deflate ? "" : " (not offering compression)"}`);
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}\n`);
    console.log("| measure | Socketpot Edge (workerd), one room | floor (bare Durable Object) | ours / floor |\n|---|---|---|---|");
    for (const [label, ours, reference, unit] of rows) {
      console.log(`| ${label} | ${format(ours, unit)} | ${format(reference, unit)} | ${Number.isFinite(reference) ? (ours / reference).toFixed(2) : ""} |`);
    }
  } finally {
    await rm(build, { recursive: true, force: true });
  }
  process.exit(0);
}

if (storm) {
  const layouts = [await stormOn("one room"), await stormOn("automatic shards")];
  console.log(`\nSocketpot Edge reconnect storm: ${options.clients} clients drop at once and reconnect by themselves\n`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}\n`);
  const stormRows = [
    ["connect+auth p50, before the storm", (result) => format(result.connectP50, "ms")],
    ["drop → auth again, p50", (result) => format(result.reconnectP50, "ms")],
    ["drop → auth again, p99", (result) => format(result.reconnectP99, "ms")],
    ["sessions recovered", (result) => result.recovered],
    ["acked messages lost or doubled", (result) => result.lost],
    ["clients authenticating again, busiest second", (result) => String(result.reauthPeak)],
    ["shards", (result) => String(result.shardCount)],
    ["the room's requests, busiest second", (result) => String(result.roomPeak)],
    ["busiest connection shard's requests, busiest second", (result) => format(result.shardPeak, "")],
    ["room's busiest second / clients' busiest second", (result) => (result.roomPeak / result.reauthPeak).toFixed(2)],
  ];
  console.log(`| measure | ${layouts.map((layout) => layout.name).join(" | ")} |`);
  console.log(`|---|${layouts.map(() => "---|").join("")}`);
  for (const [label, cell] of stormRows) console.log(`| ${label} | ${layouts.map(cell).join(" | ")} |`);
  process.exit(0);
}

const columns = [await socketpot(1)];
if (jwt) columns.push(await socketpot(1, "socket.io", { signed: true }));
if (webhooks) columns.push(await socketpot(1, "socket.io", { hooks: "answering" }), await socketpot(1, "socket.io", { hooks: "hanging" }));
if (options.shards > 1) columns.push(await socketpot(options.shards));
const bare = await floor();
const cpu = cpus()[0]?.model ?? "unknown CPU";
const machine = `machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`;

if (idleLevels) {
  const servers = [...columns, bare];
  const mean = (steps, level, key) => steps.filter((step) => step.idle === level).reduce((sum, step, _, all) => sum + step[key] / all.length, 0);
  console.log(`\nSocketpot Edge benchmark: connect+auth of ${options.clients} clients among ${idleLevels.join(" and ")} idle sockets${deflate ? "" : " (not offering compression)"}`);
  console.log(machine);
  console.log(`| step | idle sockets | ${servers.map((server) => `${server.name} p50 | p99 | server CPU per connect`).join(" | ")} |`);
  console.log(`|---|---|${servers.map(() => "---|---|---|").join("")}`);
  bare.steps.forEach(({ idle: level }, index) => {
    const cells = servers.map(({ steps }) => `${format(steps[index].p50, "ms")} | ${format(steps[index].p99, "ms")} | ${format(steps[index].cpuPerConnect, " µs")}`);
    console.log(`| ${index + 1} | ${level} | ${cells.join(" | ")} |`);
  });
  const [low, high] = idleLevels;
  const ratio = (steps, key) => (mean(steps, high, key) / mean(steps, low, key)).toFixed(2);
  const ratios = servers.map(({ name, steps }) => `${name}: ${ratio(steps, "p50")} (CPU per connect ${ratio(steps, "cpuPerConnect")})`);
  console.log(`\namong ${high} idle / among ${low}, means of the steps, connect+auth p50: ${ratios.join("; ")}`);
  process.exit(0);
}

const theirs = skipped.has("node") ? null : await baseline();
const plain = skipped.has("plain") ? null : await socketpot(1, "plain");
const party = skipped.has("partyserver") ? null : await partyserver();
console.log(
  `\nSocketpot Edge benchmark: ${options.clients} clients${deflate ? "" : " (not offering compression)"}, ${options.rate} msg/s for ${options.seconds} s, ${options.deposits} deposits`,
);
console.log(machine);
const results = [...columns, bare, theirs, plain, party].filter((result) => result !== null);
console.log(`| measure | ${results.map((result) => result.name).join(" | ")} | ${columns.map(() => "ours / floor | ours / Node").join(" | ")} | plain WS: ours / partyserver |`);
console.log(`|---|${results.map(() => "---|").join("")}${columns.map(() => "---|---|").join("")}---|`);
for (const [label, key, unit] of rows) {
  if (key === null) {
    const counts = (result) => `${result.deliveries} / ${result.expected}`;
    console.log(`| ${label} | ${results.map(counts).join(" | ")} |${columns.map(() => " | |").join("")} |`);
    continue;
  }
  const value = (result) => (key === "bytesPerConnection" ? result[key] / 1024 : result[key]);
  const suffix = key === "bytesPerConnection" ? " KiB" : unit;
  const ratio = (ours, reference) =>
    ours && reference && Number.isFinite(value(ours)) && Number.isFinite(value(reference)) ? (value(ours) / value(reference)).toFixed(2) : "";
  const ratios = columns.map((ours) => `${ratio(ours, bare)} | ${ratio(ours, theirs)}`);
  console.log(`| ${label} | ${results.map((result) => format(value(result), suffix)).join(" | ")} | ${ratios.join(" | ")} | ${ratio(plain, party)} |`);
}

if (webhooks) {
  console.log("\nThe room's own work per chat message, webhooks off and on (median and mean of a vitest bench in Node; 4 shards, 1,000 subscribers; with webhooks, one endpoint takes every type and each handover carries 100 messages' events):\n");
  console.log("| webhooks | median | mean |");
  console.log("|---|---|---|");
  const costs = await orderingCosts();
  for (const state of ["off", "on"]) {
    const cost = costs.find((each) => each.name === `webhooks ${state}, 4 shards, 1000 subscribers`);
    console.log(`| ${state} | ${(cost.median * 1000).toFixed(1)} µs | ${(cost.mean * 1000).toFixed(1)} µs |`);
  }
}

if (counting) {
  console.log("\nWork per chat message and per auth (with its leave) in the room, and per connect in the object that takes it, metrics by minute off and on (median / mean of a vitest bench in Node; 4 shards, 1,000 subscribers, 5,000 connections held; a flush every 100 requests):\n");
  console.log("| counting | per chat message | per auth and leave | per connect |");
  console.log("|---|---|---|---|");
  const costs = await orderingCosts();
  const cell = (name) => {
    const cost = costs.find((each) => each.name === name);
    return `${(cost.median * 1000).toFixed(1)} / ${(cost.mean * 1000).toFixed(1)} µs`;
  };
  for (const state of ["off", "on"]) {
    const row = [`counting ${state}, 4 shards, 1000 subscribers`, `auth, counting ${state}, 4 shards, 1000 subscribers`, `connect, counting ${state}, 5000 connections held`];
    console.log(`| ${state} | ${row.map(cell).join(" | ")} |`);
  }
}

if (options.shards > 1) {
  console.log("\nThe ordering room's own work per chat message (median of a vitest bench in Node; shards stand in for RPC):\n");
  console.log("| shards | 1,000 subscribers | 4,000 subscribers |");
  console.log("|---|---|---|");
  const costs = await orderingCosts();
  const micros = (name) => `${(costs.find((cost) => cost.name === name).median * 1000).toFixed(1)} µs`;
  for (const shards of [1, 4, 16, 64]) console.log(`| ${shards} | ${micros(`${shards} shards, 1000 subscribers`)} | ${micros(`${shards} shards, 4000 subscribers`)} |`);
}
process.exit(0);
