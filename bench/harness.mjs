// What bench/run.mjs, bench/compare.mjs and bench/profile.mjs share: load processes (bench/load.mjs) driven over
// IPC, and servers on workerd through Miniflare (bench/workerd-server.mjs).
import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort, processTree } from "../scripts/local-server.mjs";

/**
 * CPU time (ns, the kernel's schedstat) of each thread of the processes in a process tree, by "pid/tid": of its
 * workerd processes only, unless `everyProcess` (a Node server has no workerd).
 */
export function threadCpuNs(pid, everyProcess = false) {
  const used = new Map();
  for (const each of processTree(pid)) {
    let threads = [];
    try {
      if (!everyProcess && readFileSync(`/proc/${each}/comm`, "utf8").trim() !== "workerd") continue;
      threads = readdirSync(`/proc/${each}/task`);
    } catch {
      continue;
    }
    for (const thread of threads) {
      try {
        used.set(`${each}/${thread}`, Number(readFileSync(`/proc/${each}/task/${thread}/schedstat`, "utf8").split(" ")[0]));
      } catch {
        // gone
      }
    }
  }
  return used;
}

export const totalCpuNs = (used) => [...used.values()].reduce((sum, each) => sum + each, 0);

/** The time a V8 CPU profile's samples were busy (not idle), in ms. */
export function busyMs(profile) {
  const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id));
  return profile.samples.reduce((busy, sample, index) => busy + (idle.has(sample) ? 0 : profile.timeDeltas[index]), 0) / 1000;
}

/** The `p`th percentile of `values`; NaN for none. */
export const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};

/**
 * The variables Socketpot Edge is served with under load: the demo app on `shards` shards, and no chat rate
 * limit, auth deadline or per-address limit in the way of the load's clients.
 */
/** The environment variable by which a loader gets the tokens its clients authenticate with (JSON, in DEMO_USERS' order). */
export const SIGNED_TOKENS_VAR = "SOCKETPOT_BENCH_SIGNED_TOKENS";

export function loadVars(shards) {
  return {
    CHAT_RATE_BURST: "1000000",
    CHAT_RATE_PER_SECOND: "1000000",
    AUTH_TIMEOUT_MS: "120000",
    MAX_CONNECTIONS_PER_IP: "100000",
    ROOM_SHARDS: String(shards),
  };
}

/** A load process: `run(phase, args)` runs one of bench/load.mjs's phases there and resolves with its report. */
export function loader() {
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

/** A server on workerd through Miniflare (bench/workerd-server.mjs); `options` say which. */
export async function startWorkerd(name, options) {
  const port = await freePort();
  // The Worker's log lines are not read: they would bury the table.
  const child = fork(new URL("./workerd-server.mjs", import.meta.url), [JSON.stringify({ port, ...options })], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const startup = await new Promise((resolve) => child.once("message", resolve));
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send("stop");
    await exited;
  };
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid, stop, startup };
}

/** Writes a module that does nothing into `directory`: a script's start-up is its isolates' less as many of this. */
export async function writeEmptyModule(directory) {
  const path = join(directory, "empty.mjs");
  await writeFile(path, 'export default { fetch: () => new Response("ok") };\n');
  return path;
}

/** Starts and stops workerd with `isolates` (bench/workerd-server.mjs says what they are); returns its start-up figures. */
export async function isolatesStartup(isolates) {
  const server = await startWorkerd("start-up", { isolates });
  await server.stop();
  return server.startup;
}

/**
 * One round of connects on `server`: `count` clients connect and authenticate, `concurrency` at a time, then
 * close. Returns the server's CPU per connect (µs) and the connects' p50 and p99 (ms).
 */
export async function connectRound(server, { count, concurrency, deflate }) {
  const load = loader();
  try {
    const before = threadCpuNs(server.pid, true);
    const { times } = await load.run("connect", { url: server.url, count, offset: 0, concurrency, deflate, protocol: "socket.io" });
    const used = totalCpuNs(threadCpuNs(server.pid, true)) - totalCpuNs(before);
    await load.run("close");
    return { cpuPerConnect: used / 1000 / times.length, p50: percentile(times, 50), p99: percentile(times, 99) };
  } finally {
    load.kill();
  }
}
