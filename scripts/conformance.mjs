// `npm run conformance`: the conformance server (wrangler.conformance.toml) on http://127.0.0.1:3000, for the
// Engine.IO and Socket.IO protocol test suites (docs/conformance.md).
import { startLocalServer } from "./local-server.mjs";

const server = await startLocalServer({ port: 3000, config: "wrangler.conformance.toml", persistTo: ".wrangler/conformance", stdio: "inherit" });
console.log(`\nThe conformance server is running at ${server.url}. Stop with Ctrl+C.\n`);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.stop().then(() => process.exit(0)));
