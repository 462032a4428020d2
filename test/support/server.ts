import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copySeededDatabase, DEMO_USERS, executeSql, startLocalServer, treeRss } from "../../scripts/local-server.mjs";

export type DemoUser = (typeof DEMO_USERS)[number];
export const demoUser = (uname: string): DemoUser => {
  const user = DEMO_USERS.find((candidate) => candidate.uname === uname);
  if (!user) throw new Error(`no demo user ${uname}`);
  return user;
};

/** A secret as `npm start` sets it locally (from `.dev.vars.example`), for servers the tests start. */
export async function localSecret(name: "INGEST_TOKEN" | "ADMIN_TOKEN" | "WEBHOOK_SECRETS_KEY"): Promise<string> {
  const example = await readFile(new URL("../../.dev.vars.example", import.meta.url), "utf8");
  const value = new RegExp(`^${name}=(.+)$`, "m").exec(example)?.[1];
  if (!value) throw new Error(`.dev.vars.example has no ${name}`);
  return value;
}

export interface TestServer {
  url: string;
  persistTo: string;
  /** Stops the process and starts a new one on the same local state and port (clients can reconnect). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Everything the server printed so far, over its restarts. */
  output(): string;
  /** The resident memory of the server's workerd processes, in bytes. */
  rss(): number;
}

/**
 * The shard count the test servers give apps (`ROOM_SHARDS`): the integration suites run once with the
 * default, one room per app, and once more with every app spread over connection shards.
 */
export const TEST_SHARDS = process.env["SOCKETPOT_TEST_SHARDS"] ?? "1";

/** The servers this test file has running, whose output goes with a failing test (test/support/failure-output.ts). */
export const runningServers = new Set<{ url: string; output(): string }>();

/**
 * A `wrangler dev` of its own, on a free port with fresh local D1 state (a copy of the run's migrated and
 * seeded database, then `sql`). `vars` override wrangler.toml's.
 */
export async function startTestServer(vars: Record<string, string> = {}, sql?: string): Promise<TestServer> {
  const persistTo = await mkdtemp(join(tmpdir(), "socketpot-test-"));
  await copySeededDatabase(persistTo);
  if (sql) await executeSql({ persistTo, sql });
  vars = { ROOM_SHARDS: TEST_SHARDS, ...vars };
  let running = await startLocalServer({ persistTo, vars });
  /** What the processes before a restart printed. */
  let earlier = "";
  const server: TestServer = {
    url: running.url,
    persistTo,
    async restart() {
      await running.stop();
      earlier += running.output();
      running = await startLocalServer({ port: running.port, persistTo, vars });
    },
    async stop() {
      runningServers.delete(server);
      await running.stop({ discardingState: true });
      await rm(persistTo, { recursive: true, force: true });
    },
    output: () => earlier + running.output(),
    rss: () => treeRss(running.pid, "workerd"),
  };
  runningServers.add(server);
  return server;
}

/**
 * Waits until the app's objects hold `count` connections, as the admin API's stats count them (each object's
 * own count, at once when a connection closes): a close the test made has reached the server. `adminToken` is
 * the server's ADMIN_TOKEN.
 */
export async function untilConnections(server: TestServer, adminToken: string, count: number, appId = 1): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await fetch(`${server.url}/v1/admin/apps/${appId}/stats`, { headers: { Authorization: `Bearer ${adminToken}` } });
    if (!response.ok) throw new Error(`stats: ${response.status} ${await response.text()}`);
    const { connections } = (await response.json()) as { connections: number };
    if (connections === count) return;
    if (Date.now() > deadline) throw new Error(`the app holds ${connections} connections, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}


/**
 * Every file of the server's local state (D1 and Durable Object storage) whose bytes contain `secret`; throws
 * when there is no file at all (the search would prove nothing).
 */
export async function filesHolding(server: TestServer, secret: string): Promise<string[]> {
  const files = (await readdir(server.persistTo, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  if (files.length === 0) throw new Error(`no state under ${server.persistTo}`);
  const holding: string[] = [];
  for (const file of files) {
    const path = join(file.parentPath, file.name);
    if ((await readFile(path)).includes(secret)) holding.push(path);
  }
  return holding;
}
