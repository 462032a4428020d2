import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The demo seed is plain statements separated by `;` at line ends, as `wrangler d1 execute` runs it.
const statements = env.DEMO_SEED.split(/;\s*$/m)
  .map((statement) => statement.replace(/^--.*$/gm, "").trim())
  .filter((statement) => statement.length > 0);
await env.DB.batch(statements.map((statement) => env.DB.prepare(statement)));
