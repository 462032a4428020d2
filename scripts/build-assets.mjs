// Wrangler's custom build (before `wrangler dev` and `wrangler deploy`), into the static assets:
// - the browser libraries the pages use, copied from node_modules so that nothing is fetched from a CDN:
//   socket.io-client for the demo page, uPlot (charts) for the console;
// - the admin API's OpenAPI document, generated from its routes and zod schemas (src/http/admin.ts): the Worker
//   serves it, behind the admin API's auth, and carries no generator of its own.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { replaceFile } from "./replace-file.mjs";

const root = new URL("../", import.meta.url);

const vendor = new URL("public/vendor/", root);
const modules = new URL("node_modules/", root);
for (const [from, to] of [
  ["socket.io-client/dist/socket.io.min.js", "socket.io.min.js"],
  ["uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
]) {
  await replaceFile(fileURLToPath(new URL(to, vendor)), await readFile(new URL(from, modules)));
}

// The admin API's module, bundled for Node as it is (with zod-to-openapi whole), and run once here.
const {
  outputFiles: [adminModule],
} = await build({
  entryPoints: [fileURLToPath(new URL("src/http/admin.ts", root))],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "error",
});
const { ADMIN_OPENAPI_ASSET, adminOpenApiDocument } = await import(`data:text/javascript;base64,${Buffer.from(adminModule.text).toString("base64")}`);
await replaceFile(fileURLToPath(new URL(`public${ADMIN_OPENAPI_ASSET}`, root)), JSON.stringify(adminOpenApiDocument()));
