// `npm start`: local D1 migrated and seeded with the demo app, then wrangler dev on http://127.0.0.1:8787.
import { DEMO_USERS, prepareLocalDatabase, startLocalServer } from "./local-server.mjs";

await prepareLocalDatabase();
const server = await startLocalServer({ port: 8787, stdio: "inherit" });
console.log(`
Socketpot Edge is running at ${server.url} (local D1 and Durable Objects under .wrangler/state).
Demo app id: 1. Access tokens of its users:
${DEMO_USERS.map((user) => `  ${user.uname.padEnd(6)} ${user.role.padEnd(7)} auth_id ${user.authId}  ${user.token}`).join("\n")}

Connect:  io("${server.url}", { query: { app_id: 1 } })
Stop with Ctrl+C.
`);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.stop().then(() => process.exit(0)));
