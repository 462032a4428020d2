// Socketpot Edge for the bench: the built Worker on workerd through Miniflare, with wrangler.toml's bindings
// and the local D1 that prepareLocalDatabase() made, but without the proxy that `wrangler dev` puts in front of
// it (two more processes on the same cores, which production does not have). Tells the parent when it serves,
// and stops (workerd with it) when the parent says so. Arguments: port, persist directory, built script, vars
// as JSON.
import { dirname, join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { ROOT } from "../scripts/local-server.mjs";

const [port, persistTo, script, vars] = process.argv.slice(2);
const configPath = join(ROOT, "wrangler.toml");
const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
// Module rules and the root only matter for bundling, and the script is bundled already.
const { modulesRules, rootPath, ...options } = workerOptions;
const server = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: Number(port),
    resourcePersistencePath: join(persistTo, "v3"),
    // Request.cf is wrangler's placeholder, as in every local server: no fetch from the network.
    cf: false,
    workers: [
      {
        ...options,
        name: unstable_readConfig({ config: configPath }).name,
        modules: true,
        modulesRoot: dirname(script),
        scriptPath: script,
        bindings: { ...options.bindings, ...JSON.parse(vars) },
      },
    ],
  }),
);
await server.ready;
process.once("message", async () => {
  await server.dispose();
  process.exit(0);
});
process.send("ready");
