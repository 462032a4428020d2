// `npm run check-deploy`: checks a deployment's configuration before `wrangler deploy`, and says for each gap what
// to do. First wrangler.toml (as wrangler reads it): the D1 database id, the queues and their dead-letter queues,
// the Durable Object classes and their migrations, the cron, a custom domain put where TOML reads it. Then, when
// wrangler is logged in (skipped with --offline), the account: the secrets, the queues, and D1 migrations not
// applied yet. Exits 1 when anything must be done first.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { ROOT, wrangler } from "./local-server.mjs";

/** The queues wrangler.toml names: each producer's binding, and the consumer with its dead-letter queue. */
const QUEUES = [
  { binding: "EVENTS", queue: "socketpot-events" },
  { binding: "WEBHOOKS", queue: "socketpot-webhooks" },
];
const DURABLE_OBJECTS = [
  { name: "ROOMS", className: "AppRoom" },
  { name: "SHARDS", className: "ConnectionShard" },
];
const SECRETS = [
  { name: "ADMIN_TOKEN", needed: true, what: "guards /v1/admin" },
  { name: "INGEST_TOKEN", needed: true, what: "is what your event producers send" },
  { name: "WEBHOOK_SECRETS_KEY", needed: false, what: "encrypts webhook secrets; without it webhooks are off (503)" },
];

/**
 * What wrangler.toml (read by wrangler into `config`) lacks for a deploy: a list of { problem, fix }, empty when
 * it has all of it.
 */
export function configProblems(config) {
  const problems = [];
  const database = config.d1_databases.find((each) => each.binding === "DB");
  if (!database) problems.push({ problem: "no D1 database is bound as DB", fix: "restore the [[d1_databases]] block of wrangler.toml (binding = \"DB\")" });
  else if (!database.database_id) {
    problems.push({
      problem: "the D1 database has no database_id",
      fix: `run \`npx wrangler d1 create ${database.database_name}\` and add the id it prints as database_id = "…" in wrangler.toml's [[d1_databases]] block`,
    });
  }
  for (const { binding, queue } of QUEUES) {
    if (!config.queues.producers?.some((each) => each.binding === binding && each.queue === queue)) {
      problems.push({ problem: `no queue producer ${binding} for ${queue}`, fix: `restore the [[queues.producers]] block binding = "${binding}", queue = "${queue}"` });
    }
    const consumer = config.queues.consumers?.find((each) => each.queue === queue);
    if (!consumer) problems.push({ problem: `no consumer for the queue ${queue}`, fix: `restore its [[queues.consumers]] block in wrangler.toml` });
    else if (!consumer.dead_letter_queue) {
      problems.push({ problem: `the queue ${queue} has no dead-letter queue`, fix: `set dead_letter_queue = "${queue}-dlq" in its [[queues.consumers]] block` });
    }
  }
  const migrated = new Set(config.migrations.flatMap((each) => [...(each.new_sqlite_classes ?? []), ...(each.new_classes ?? [])]));
  for (const { name, className } of DURABLE_OBJECTS) {
    if (!config.durable_objects.bindings.some((each) => each.name === name && each.class_name === className)) {
      problems.push({ problem: `no Durable Object binding ${name} for ${className}`, fix: "restore its [[durable_objects.bindings]] block" });
    }
    if (!migrated.has(className)) problems.push({ problem: `no [[migrations]] entry creates ${className}`, fix: "restore wrangler.toml's [[migrations]] entries" });
  }
  // A key written below a [[migrations]] entry belongs to it: TOML reads the rest of the file into the last table.
  for (const migration of config.migrations) {
    const stray = Object.keys(migration).filter((key) => !["tag", "new_classes", "new_sqlite_classes", "renamed_classes", "deleted_classes", "transferred_classes"].includes(key));
    if (stray.length > 0) {
      problems.push({
        problem: `${stray.join(", ")} ended up inside the [[migrations]] entry ${migration.tag}, where wrangler ignores it`,
        fix: `move ${stray.join(", ")} to the top of wrangler.toml, above its first [table]`,
      });
    }
  }
  if (!config.triggers?.crons?.length) problems.push({ problem: "no Cron Trigger: expired messages and mutes are never deleted", fix: "restore the [triggers] crons of wrangler.toml" });
  return problems;
}

/** Notes that are not problems: what the configuration will do that an operator may not expect. */
export function configNotes(config) {
  const notes = [];
  const routes = [...(config.routes ?? []), ...(config.route ? [config.route] : [])];
  if (routes.length > 0 && config.workers_dev === undefined) {
    notes.push("with routes or a custom domain set, workers.dev stops serving this Worker; add workers_dev = true to keep it");
  }
  return notes;
}

/** Runs the project's wrangler on this configuration; resolves with its output, or null when it failed. */
const wranglerOutput = (args, configPath) => wrangler([...args, "--config", configPath]).then(({ stdout }) => stdout, () => null);

/** What the account lacks: secrets, queues, D1 migrations not applied. Null when wrangler is not logged in. */
async function accountProblems(config, configPath) {
  if ((await wranglerOutput(["whoami", "--json"], configPath)) === null) return null;
  const problems = [];
  const secrets = await wranglerOutput(["secret", "list", "--format", "json"], configPath);
  const names = new Set(secrets === null ? [] : JSON.parse(secrets).map((each) => each.name));
  for (const { name, needed, what } of SECRETS) {
    if (names.has(name)) continue;
    const fix = `run \`export ${name}=$(openssl rand -hex 32)\`, then \`printf %s "$${name}" | npx wrangler secret put ${name}\`, and keep it`;
    problems.push({ problem: `the secret ${name} is not set (it ${what})`, fix, optional: !needed });
  }
  const queues = (await wranglerOutput(["queues", "list"], configPath)) ?? "";
  for (const { queue } of QUEUES) {
    for (const name of [queue, `${queue}-dlq`]) {
      if (!new RegExp(`\\b${name}\\b(?!-)`).test(queues)) problems.push({ problem: `the queue ${name} does not exist`, fix: `run \`npx wrangler queues create ${name}\`` });
    }
  }
  if (config.d1_databases.some((each) => each.binding === "DB" && each.database_id)) {
    const migrations = await wranglerOutput(["d1", "migrations", "list", "DB", "--remote"], configPath);
    if (migrations === null) problems.push({ problem: "the D1 database's migrations could not be listed", fix: "check database_id in wrangler.toml against `npx wrangler d1 list`" });
    else if (!/No migrations to apply/i.test(migrations)) {
      problems.push({ problem: "D1 migrations are not applied yet", fix: "run `npx wrangler d1 migrations apply DB --remote` before deploying (docs/deploy.md says why first)" });
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { config: { type: "string", default: join(ROOT, "wrangler.toml") }, offline: { type: "boolean", default: false } } });
  const config = unstable_readConfig({ config: values.config });
  const problems = configProblems(config);
  const account = values.offline ? null : await accountProblems(config, values.config);
  for (const note of configNotes(config)) console.log(`note: ${note}`);
  if (account === null) console.log(values.offline ? "the account was not checked (--offline)" : "the account was not checked: log in first (`npx wrangler login`, or CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID)");
  const all = [...problems, ...(account ?? [])];
  for (const { problem, fix, optional } of all) console.log(`${optional ? "optional" : "to do"}: ${problem}\n  → ${fix}`);
  const blocking = all.filter((each) => !each.optional).length;
  console.log(blocking === 0 ? "ready to deploy: npx wrangler deploy" : `${blocking} thing(s) to do before \`npx wrangler deploy\``);
  process.exit(blocking === 0 ? 0 : 1);
}
