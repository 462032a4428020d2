// Wrangler's custom build (before `wrangler dev` and `wrangler deploy`): the demo page's copy of the
// socket.io-client browser bundle, taken from node_modules so nothing is fetched from a CDN.
import { copyFile, mkdir } from "node:fs/promises";

const vendor = new URL("../public/vendor/", import.meta.url);
await mkdir(vendor, { recursive: true });
await copyFile(new URL("../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url), new URL("socket.io.min.js", vendor));
