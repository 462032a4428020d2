import { readFile } from "node:fs/promises";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const DATABASE_TEMPLATE = "test/support/database-template.ts";
/** Prints the output of a failing test's servers beside the failure. */
const FAILURE_OUTPUT = "test/support/failure-output.ts";

/** The integration suites that run a second time with every app on connection shards. */
const SHARDED_SUITES = ["chat", "clients", "events", "moderation", "origin-routing", "plain", "recovery", "limits", "admin", "hardening", "soak", "signed-tokens"];

/** Integration tests against `wrangler dev`, with apps on `shards` connection shards (ROOM_SHARDS). */
function integration(name: string, shards: string, include: string[]) {
  return {
    test: {
      name,
      include,
      environment: "node",
      env: { SOCKETPOT_TEST_SHARDS: shards },
      globalSetup: [DATABASE_TEMPLATE],
      setupFiles: [FAILURE_OUTPUT],
      testTimeout: 30_000,
      hookTimeout: 90_000,
    },
  };
}

/**
 * Three kinds of test, each against the real thing it needs:
 * - unit: plain TypeScript (codecs, protocol, room logic) in Node, no workerd;
 * - worker: inside workerd with real D1 and Durable Objects through vitest-pool-workers;
 * - integration: `wrangler dev` processes on real TCP ports, driven by real socket.io clients, with every app
 *   in one room and again with every app on four connection shards;
 * - browser: the demo page in a headless Chromium shipped by an npm package, through playwright-core.
 */
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "test-output/results.json" },
    // Two files at a time: most of an integration file's time is waiting (on its own server starting, on timers),
    // so two lanes nearly halve the run on two cores. Each such file has its own server, port and state. The
    // worker project's files share one workerd runtime: they run afterwards, one at a time.
    maxWorkers: 2,
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            // The sources themselves, as the tests import them (wrangler.toml's main is their build, which the
            // integration and browser tests run).
            main: "./src/index.ts",
            miniflare: {
              // A second database, for a test that builds it step by step from the first migration.
              d1Databases: ["DB", "MIGRATION_DB"],
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
                DEMO_SEED: await readFile("./scripts/demo-seed.sql", "utf8"),
                // A shard's deadline on its room, short enough for a test to wait out.
                STORAGE_TIMEOUT_MS: "1000",
                ADMIN_TOKEN: "worker-test-admin-token",
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["test/worker/setup-database.ts"],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          // A page load, a connect, or a deposit through the queue takes more than expect.poll's default second
          // on a loaded machine; a poll that runs out fails with what it saw last.
          expect: { poll: { timeout: 15_000 } },
          globalSetup: [DATABASE_TEMPLATE, "test/support/chromium-setup.ts"],
          setupFiles: [FAILURE_OUTPUT],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      integration("integration", "1", ["test/integration/**/*.test.ts"]),
      // Every app on four connection shards fed by its ordering room: the suites of the Socketpot contract again,
      // unchanged. (Transport-level suites, whose code is the same on every shard, run once above.)
      integration("integration-shards", "4", SHARDED_SUITES.map((suite) => `test/integration/${suite}.test.ts`)),
    ],
  },
});
