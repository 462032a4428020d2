import { afterEach } from "vitest";
import { runningServers } from "./server.js";

/** How much of a server's output goes with a failure: its last lines say what it did just before. */
const TAIL = 20_000;

// A failing test prints what its servers printed (wrangler's lines and the Worker's log): a client's
// "websocket error" alone does not say why the server refused it or whether it was up.
afterEach(({ task }) => {
  if (task.result?.state !== "fail") return;
  for (const server of runningServers) console.error(`--- ${server.url} printed, last ${TAIL} characters:\n${server.output().slice(-TAIL)}`);
});
