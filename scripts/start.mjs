// `npm start`: local D1 migrated and seeded with the demo app, then wrangler dev on http://127.0.0.1:8787.
import { constants } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import { DEMO_USERS, prepareLocalDatabase, startLocalServer } from "./local-server.mjs";

const devVars = new URL("../.dev.vars", import.meta.url);
try {
  await copyFile(new URL("../.dev.vars.example", import.meta.url), devVars, constants.COPYFILE_EXCL);
} catch {
  // .dev.vars exists already: the developer's own secrets stay.
}
const secrets = await readFile(devVars, "utf8");
const secret = (name) => new RegExp(`^${name}=(.*)$`, "m").exec(secrets)?.[1] ?? "(not set in .dev.vars)";

await prepareLocalDatabase();
const server = await startLocalServer({ port: 8787, stdio: "inherit" });
console.log(`
Socketpot Edge is running at ${server.url} (local D1 and Durable Objects under .wrangler/state).
Demo app id: 1. Access tokens of its users:
${DEMO_USERS.map((user) => `  ${user.uname.padEnd(6)} ${user.role.padEnd(7)} auth_id ${user.authId}  ${user.token}`).join("\n")}

Connect:  io("${server.url}", { query: { app_id: 1 } })
Demo:     ${server.url}/ in a browser
Ingest:   POST ${server.url}/v1/apps/1/events with Authorization: Bearer ${secret("INGEST_TOKEN")}
          (or: npm run publish-event -- deposit alice 5000)
Admin:    ${server.url}/v1/admin/apps with Authorization: Bearer ${secret("ADMIN_TOKEN")}
Console:  ${server.url}/console in a browser, signed in with that admin token
Stop with Ctrl+C.
`);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.stop().then(() => process.exit(0)));
