// `npm run bench`: Socketpot Edge (real workerd through Miniflare, real local D1 and Queue) side by side with a
// Node server on the official socket.io package implementing the same chat subset. Load comes from separate
// client processes. Prints one table; sizes are flags (--clients, --loaders, --rate, --seconds, --deposits).
// --via-wrangler measures the server through `wrangler dev` (and its dev proxy) instead.
// --no-deflate makes the clients not offer WebSocket compression: browsers offer it, and the deployed Worker
// refuses it, but the local workers in front of it (Miniflare's entry, wrangler dev's proxy) accept it, so
// locally only the client can turn it off.
import { fork } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildWorker, freePort, prepareLocalDatabase, startLocalServer } from "../scripts/local-server.mjs";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    loaders: { type: "string", default: "2" },
    concurrency: { type: "string", default: "50" },
    rate: { type: "string", default: "10" },
    seconds: { type: "string", default: "5" },
    deposits: { type: "string", default: "50" },
    deflate: { type: "boolean", default: true },
    "via-wrangler": { type: "boolean", default: false },
  },
  allowNegative: true,
});
const { deflate, "via-wrangler": viaWrangler, ...sizes } = values;
const options = Object.fromEntries(Object.entries(sizes).map(([key, value]) => [key, Number(value)]));
const INGEST_TOKEN = "bench-ingest-token";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};

/** Resident memory (bytes) of a process and all its descendants. */
function treeRss(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      pids.push(...execFileSync("pgrep", ["-P", String(pids[i])], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number));
    } catch {
      // no children
    }
  }
  let total = 0;
  for (const each of pids) {
    try {
      const status = execFileSync("cat", [`/proc/${each}/status`], { encoding: "utf8" });
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

function loader() {
  const child = fork(new URL("./load.mjs", import.meta.url), { stdio: "inherit" });
  let nextId = 0;
  const pending = new Map();
  child.on("message", ({ id, result, error }) => {
    const { resolve, reject } = pending.get(id);
    pending.delete(id);
    if (error) reject(new Error(error));
    else resolve(result);
  });
  return {
    run: (phase, args = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ id, phase, args });
      }),
    kill: () => child.kill(),
  };
}

async function measure(name, url, serverPid) {
  const rssBefore = treeRss(serverPid);
  const loaders = Array.from({ length: options.loaders }, loader);
  const share = Math.ceil(options.clients / options.loaders);
  const connects = await Promise.all(
    loaders.map((each, index) => each.run("connect", { url, count: Math.min(share, options.clients - index * share), offset: index * share, concurrency: options.concurrency, deflate })),
  );
  const connectTimes = connects.flatMap((result) => result.times);
  await pause(2_000);
  const rssIdle = treeRss(serverPid);

  const sent = options.rate * options.seconds;
  await loaders[0].run("send", { count: sent, rate: options.rate });
  await pause(2_000);
  const latencies = (await Promise.all(loaders.map((each) => each.run("collect")))).flatMap((result) => result.latencies);
  await Promise.all(loaders.map((each) => each.run("close")));
  for (const each of loaders) each.kill();

  const depositLoader = loader();
  const deposits = (await depositLoader.run("deposits", { url, count: options.deposits, token: INGEST_TOKEN, deflate })).times;
  depositLoader.kill();

  return {
    name,
    connectP50: percentile(connectTimes, 50),
    connectP99: percentile(connectTimes, 99),
    deliveries: latencies.length,
    expected: sent * options.clients,
    deliveriesPerSecond: latencies.length / options.seconds,
    fanoutP50: percentile(latencies, 50),
    fanoutP99: percentile(latencies, 99),
    bytesPerConnection: (rssIdle - rssBefore) / options.clients,
    depositP50: percentile(deposits, 50),
    depositP99: percentile(deposits, 99),
  };
}

/** Socketpot Edge on workerd, directly through Miniflare or (--via-wrangler) through `wrangler dev`. */
async function startSocketpot(persistTo, vars) {
  if (viaWrangler) {
    const server = await startLocalServer({ persistTo, vars });
    return { name: "Socketpot Edge (wrangler dev)", url: server.url, pid: server.pid, stop: server.stop };
  }
  const script = await buildWorker(join(persistTo, "build"));
  const port = await freePort();
  const args = [String(port), persistTo, script, JSON.stringify(vars)];
  // The Worker's log lines are not read: they would bury the table.
  const child = fork(new URL("./workerd-server.mjs", import.meta.url), args, { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  await new Promise((resolve) => child.once("message", resolve));
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send("stop");
    await exited;
  };
  return { name: "Socketpot Edge (workerd)", url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}

async function socketpot() {
  const persistTo = await mkdtemp(join(tmpdir(), "socketpot-bench-"));
  const vars = { CHAT_RATE_BURST: "1000000", CHAT_RATE_PER_SECOND: "1000000", INGEST_TOKEN, AUTH_TIMEOUT_MS: "120000", MAX_CONNECTIONS_PER_IP: "100000" };
  try {
    await prepareLocalDatabase({ persistTo });
    const server = await startSocketpot(persistTo, vars);
    try {
      return await measure(server.name, server.url, server.pid);
    } finally {
      await server.stop();
    }
  } finally {
    await rm(persistTo, { recursive: true, force: true });
  }
}

async function baseline() {
  const port = await freePort();
  const child = fork(new URL("./baseline-server.mjs", import.meta.url), [String(port)], { stdio: "inherit" });
  await new Promise((resolve) => child.once("message", resolve));
  try {
    return await measure("Node socket.io 4.x", `http://127.0.0.1:${port}`, child.pid);
  } finally {
    child.kill();
  }
}

const format = (value, unit) => (Number.isFinite(value) ? `${value.toFixed(value >= 100 ? 0 : 1)}${unit}` : "n/a");
const rows = [
  ["connect+auth p50", "connectP50", "ms"],
  ["connect+auth p99", "connectP99", "ms"],
  ["fan-out deliveries/s", "deliveriesPerSecond", ""],
  ["fan-out delivered / expected", null, ""],
  ["fan-out latency p50", "fanoutP50", "ms"],
  ["fan-out latency p99", "fanoutP99", "ms"],
  ["memory per idle connection", "bytesPerConnection", ""],
  ["deposit ingest→socket p50", "depositP50", "ms"],
  ["deposit ingest→socket p99", "depositP99", "ms"],
];

const ours = await socketpot();
const theirs = await baseline();
const cpu = cpus()[0]?.model ?? "unknown CPU";
console.log(
  `\nSocketpot Edge benchmark: ${options.clients} clients${deflate ? "" : " (not offering compression)"}, ${options.rate} msg/s for ${options.seconds} s, ${options.deposits} deposits`,
);
console.log(`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
console.log(`| measure | ${ours.name} | ${theirs.name} | ratio (ours / baseline) |`);
console.log("|---|---|---|---|");
for (const [label, key, unit] of rows) {
  if (key === null) {
    console.log(`| ${label} | ${ours.deliveries} / ${ours.expected} | ${theirs.deliveries} / ${theirs.expected} | |`);
    continue;
  }
  const mine = key === "bytesPerConnection" ? ours[key] / 1024 : ours[key];
  const base = key === "bytesPerConnection" ? theirs[key] / 1024 : theirs[key];
  const suffix = key === "bytesPerConnection" ? " KiB" : unit;
  console.log(`| ${label} | ${format(mine, suffix)} | ${format(base, suffix)} | ${(mine / base).toFixed(2)} |`);
}
process.exit(0);
