// A server for the bench on workerd through Miniflare, without the proxy that `wrangler dev` puts in front (two
// more processes on the same cores, which production does not have). Either Socketpot Edge (the built Worker,
// with wrangler.toml's bindings and the local D1 that copySeededDatabase() made) or the floor
// (bench/floor-worker.mjs, with wrangler.toml's compatibility settings), or the partyserver chat (bundled).
// Tells the parent when it serves, and stops (workerd with it) when the parent says so. Argument: the options
// as JSON, { port, persistTo, script, vars }, { port, floor: true } or { port, partyserver: script }, each with
// an optional inspectorPort (bench/profile.mjs). With { port, isolates: { main, unimported, count } } it runs
// `count` Workers of the module `main` alone, each its own isolate, with no bindings, and with `unimported`
// uploaded beside it if given (a module nothing imports): what a module costs an isolate to start, compiled and
// evaluated, or compiled only (npm run bench -- --cold).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { ROOT } from "../scripts/local-server.mjs";
import { threadCpuNs, totalCpuNs } from "./harness.mjs";

const { port, inspectorPort, persistTo, script, vars, floor, partyserver, isolates } = JSON.parse(process.argv[2]);
const configPath = join(ROOT, "wrangler.toml");
const config = unstable_readConfig({ config: configPath });

function socketpotWorker() {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  // Module rules and the root only matter for bundling, and the script is bundled already. Static assets are
  // left out: with them, Miniflare puts two Workers of its own (an RPC proxy and the asset router, in this
  // process) in front of every request, and each connect paid both hops (~800 µs of CPU in a fresh server's
  // first 1,000, 300–500 µs warm), which the floor did not. On Cloudflare the router is the platform's, billed
  // as the Worker's request but, as far as Cloudflare documents, not as its CPU; it remains a hop there
  // (docs/benchmarks.md, "The asset router"). No bench request is for an asset.
  const { modulesRules, rootPath, assets, ...options } = workerOptions;
  return {
    ...options,
    name: config.name,
    modules: true,
    modulesRoot: dirname(script),
    scriptPath: script,
    bindings: { ...options.bindings, ...vars },
  };
}

/** `count` Workers of `main` alone (and `unimported`, uploaded but never imported), compiled as wrangler.toml says. */
function isolatesOf({ main, unimported, count }) {
  const modules = [main, ...(unimported ? [unimported] : [])].map((path) => ({ type: "ESModule", path }));
  return Array.from({ length: count }, (_, index) => ({
    name: `isolate-${index}`,
    modulesRoot: "/",
    modules,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
  }));
}

function floorWorker() {
  return {
    name: "floor",
    // Unbundled: the worker and the one module it imports.
    modulesRoot: ROOT,
    modules: ["bench/floor-worker.mjs", "scripts/demo-users.mjs"].map((path) => ({ type: "ESModule", path: join(ROOT, path) })),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    // SQLite-backed, as every new Durable Object class is and as the product's are.
    durableObjects: { FLOOR: { className: "FloorRoom", useSQLite: true } },
  };
}

function partyserverWorker() {
  return {
    name: "partyserver",
    modules: true,
    modulesRoot: dirname(partyserver),
    scriptPath: partyserver,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    durableObjects: { CHAT: { className: "ChatServer", useSQLite: true } },
  };
}

// Miniflare keeps what it stores for no path of ours in a folder under the temp directory, which dispose() removes
// without waiting for it; this process exits right after, so each server gets a temp directory of its own,
// removed once the server is disposed.
const scratch = mkdtempSync(join(tmpdir(), "socketpot-bench-server-"));
process.env.TMPDIR = scratch;

// The start-up: from asking for the server until workerd serves (the script compiled and its modules evaluated),
// then the first request the Worker answers (a Worker that put work off to it would show it here).
const starting = performance.now();
const server = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port,
    ...(inspectorPort ? { inspectorPort } : {}),
    ...(persistTo ? { resourcePersistencePath: join(persistTo, "v3") } : {}),
    // Request.cf is wrangler's placeholder, as in every local server: no fetch from the network.
    cf: false,
    workers: isolates ? isolatesOf(isolates) : [floor ? floorWorker() : partyserver ? partyserverWorker() : socketpotWorker()],
  }),
);
const url = await server.ready;
const readyMs = performance.now() - starting;
// workerd's CPU time so far, over all its threads.
const readyCpuMs = totalCpuNs(threadCpuNs(process.pid)) / 1e6;
const firstAsked = performance.now();
await (await server.dispatchFetch(new URL("/health", url))).arrayBuffer();
const firstRequestMs = performance.now() - firstAsked;
process.once("message", async () => {
  await server.dispose();
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
});
process.send({ readyMs, firstRequestMs, readyCpuMs });
