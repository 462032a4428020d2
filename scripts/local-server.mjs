// Runs Socketpot Edge locally on real workerd through wrangler: used by `npm start` and by the integration tests.
import { spawn, execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export { DEMO_USERS } from "./demo-users.mjs";

/**
 * The `index`th local client address (sent as CF-Connecting-IP, which Cloudflare sets): clients on the internet
 * each have their own, and an app's shards take connections by address.
 */
export function clientAddress(index) {
  return `198.18.${(index >> 8) & 255}.${index & 255}`;
}

let addressesGiven = 0;

/** A client address this process has not given out yet, for a client (or a reconnect) of its own. */
export function nextClientAddress() {
  return clientAddress(addressesGiven++);
}

const run = promisify(execFile);

/**
 * How every local server runs wrangler. Its local observability collector stores a trace of every invocation
 * (each WebSocket frame is one) with an fsync per write: under load that was over half of the server's CPU, and
 * nothing here reads it. Nothing local needs the network either: `Request.cf` gets wrangler's placeholder
 * instead of a fetch that fails offline with a stack trace, and no usage metrics are sent.
 */
const LOCAL_WRANGLER_ENV = {
  X_LOCAL_OBSERVABILITY: "false",
  X_LOCAL_EXPLORER: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
};

/**
 * Wrangler's CLI, run by the Node 22 that `node@22` puts in node_modules (wrangler needs it; the machine may have
 * Node 20) without npx in between, and with V8's compile cache: loading wrangler's 280,000-line bundle was most of
 * a local server's start-up (2.4 s of 5 s), and every integration test file starts one.
 */
const NODE = join(ROOT, "node_modules", ".bin", "node");
const WRANGLER_CLI = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const WRANGLER_PROCESS_ENV = { NODE_COMPILE_CACHE: join(ROOT, "node_modules", ".cache", "node-compile-cache") };

export function wrangler(args, { env = {} } = {}) {
  return run(NODE, [WRANGLER_CLI, ...args], { cwd: ROOT, env: { ...process.env, ...LOCAL_WRANGLER_ENV, ...WRANGLER_PROCESS_ENV, ...env } });
}

/** Applies the D1 migrations to the local database and seeds the demo app (idempotent). */
export async function prepareLocalDatabase({ persistTo } = {}) {
  const persist = persistTo ? ["--persist-to", persistTo] : [];
  await wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist], { env: { CI: "true" } });
  await wrangler(["d1", "execute", "DB", "--local", ...persist, "--file", "scripts/demo-seed.sql"]);
}

/**
 * A migrated and seeded local state, built once per set of migrations, seed and wrangler version and kept under
 * node_modules/.cache: applying the migrations takes wrangler most of a second each, and the test run, the soak
 * and the benches each need fresh copies. Returns its directory, which callers copy and never write to.
 */
export async function seededDatabase() {
  const hash = createHash("sha256").update(JSON.parse(readFileSync(join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version);
  for (const name of (await readdir(join(ROOT, "migrations"))).sort()) hash.update(name).update(await readFile(join(ROOT, "migrations", name)));
  hash.update(await readFile(join(ROOT, "scripts", "demo-seed.sql")));
  const cache = join(ROOT, "node_modules", ".cache", "socketpot-database");
  const built = join(cache, hash.digest("hex").slice(0, 16));
  if (existsSync(built)) return built;
  await mkdir(cache, { recursive: true });
  // Built aside and renamed into place, so that a reader never sees half of one; two builders both finish, and
  // the second's rename fails harmlessly on the first's.
  const building = await mkdtemp(join(cache, "building-"));
  await prepareLocalDatabase({ persistTo: building });
  try {
    await rename(building, built);
  } catch (error) {
    if (!existsSync(built)) throw error;
    await rm(building, { recursive: true, force: true });
  }
  return built;
}

/** Gives `persistTo` (an empty directory) a fresh copy of the migrated and seeded local state. */
export async function copySeededDatabase(persistTo) {
  await cp(await seededDatabase(), persistTo, { recursive: true });
}

/** Runs SQL on the local database under `persistTo`. */
export async function executeSql({ persistTo, sql }) {
  await wrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--command", sql]);
}

/**
 * Bundles the Worker of `config` (wrangler.toml by default) as `wrangler deploy` would, into `outdir`; returns the
 * entry script's path. `minify: false` keeps the names (for profiles: minifying renames, it runs the same code).
 */
export async function buildWorker(outdir, config, { minify = true } = {}) {
  await wrangler(["deploy", "--dry-run", "--outdir", outdir, ...(config ? ["--config", config] : []), ...(minify ? [] : ["--minify=false"])]);
  return `${outdir}/${(await readdir(outdir)).find((name) => name.endsWith(".js"))}`;
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** wrangler dev could not bind a port it was given: another process took it since it was found free. */
class PortTaken extends Error {}

/**
 * Starts `wrangler dev` (of `config`, wrangler.toml by default) and resolves once it serves HTTP. `vars` override
 * the config's vars. Returns the base URL and a stop() that ends the process and every process it started.
 *
 * A port found free can be taken by another process before wrangler binds it: wrangler then exits, and the port
 * answers for someone else. So the server counts as up only once wrangler itself printed that it is ready on
 * this port, and a port taken meanwhile means another try on a new one (on a given port, after a moment).
 */
export async function startLocalServer({ port, ...options } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ ...options, port: port ?? (await freePort()) });
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function startOnce({ port, persistTo, vars = {}, stdio = "pipe", config }) {
  const inspectorPort = await freePort();
  const args = [WRANGLER_CLI, "dev", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(inspectorPort), "--show-interactive-dev-session=false");
  if (config) args.push("--config", config);
  if (persistTo) args.push("--persist-to", persistTo);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const env = { ...process.env, ...LOCAL_WRANGLER_ENV, ...WRANGLER_PROCESS_ENV };
  // Its own process group, so that stop() ends wrangler and its workerd processes together, whoever signals us.
  const child = spawn(NODE, args, { cwd: ROOT, env, stdio: stdio === "inherit" ? "inherit" : ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once("exit", resolve));

  /**
   * Ends wrangler and everything it started, and waits until each of them is gone (workerd can outlive wrangler).
   * A server whose state is thrown away next is killed outright: there is nothing for it to flush.
   */
  const stop = async ({ discardingState = false } = {}) => {
    const pids = processTree(child.pid);
    try {
      process.kill(-child.pid, discardingState ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    const deadline = Date.now() + 5_000;
    while (pids.some(alive)) {
      if (Date.now() > deadline) {
        for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  // With its output inherited (npm start) there is nothing to read: the port is a fixed one, and a taken one
  // makes wrangler exit with a message the user sees.
  const readyLine = `Ready on ${url}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      if (/Address already in use/.test(output)) throw new PortTaken(`port ${port} or ${inspectorPort} was taken`);
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    }
    if (stdio === "inherit" || output.includes(readyLine)) {
      try {
        const response = await fetch(`${url}/health`);
        if (response.status < 500) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not become healthy within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, port, pid: child.pid, stop, output: () => output };
}

/**
 * Whether a process still runs. A zombie does not: it has exited and only waits to be reaped, which a container's
 * init may do a second or more later.
 */
function alive(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

/** A process and all its descendants, from /proc. */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The parent's pid is the second field after the command, which is in parentheses and may hold spaces.
      const parent = Number(readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i]) ?? []));
  return pids;
}

/** Resident memory (bytes) of a process and all its descendants; of those named `only`, when given (e.g. "workerd"). */
export function treeRss(pid, only) {
  let total = 0;
  for (const each of processTree(pid)) {
    try {
      if (only !== undefined && readFileSync(`/proc/${each}/comm`, "utf8").trim() !== only) continue;
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${each}/status`, "utf8"))?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return total;
}

/** Every message of an app, read from D1 through a running server's admin API page by page, oldest first. */
export async function storedMessages(url, adminToken, appId = 1) {
  const messages = [];
  let before = null;
  do {
    const query = before ? `&before=${before}` : "";
    const response = await fetch(`${url}/v1/admin/apps/${appId}/messages?limit=100${query}`, { headers: { Authorization: `Bearer ${adminToken}` } });
    if (!response.ok) throw new Error(`admin API: ${response.status} ${await response.text()}`);
    const page = await response.json();
    messages.push(...page.messages);
    before = page.next_before;
  } while (before);
  return messages.sort((a, b) => a.id - b.id);
}
