// Wrangler's custom build (before `wrangler dev` and `wrangler deploy`): the browser libraries the pages use,
// copied from node_modules into the static assets so that nothing is fetched from a CDN: socket.io-client for
// the demo page, uPlot (charts) for the console.
import { copyFile, mkdir } from "node:fs/promises";

const vendor = new URL("../public/vendor/", import.meta.url);
const modules = new URL("../node_modules/", import.meta.url);
await mkdir(vendor, { recursive: true });
for (const [from, to] of [
  ["socket.io-client/dist/socket.io.min.js", "socket.io.min.js"],
  ["uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
]) {
  await copyFile(new URL(from, modules), new URL(to, vendor));
}
