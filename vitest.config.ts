import { readFile } from "node:fs/promises";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Three kinds of test, each against the real thing it needs:
 * - unit: plain TypeScript (codecs, protocol, room logic) in Node, no workerd;
 * - worker: inside workerd with real D1 and Durable Objects through vitest-pool-workers;
 * - integration: `wrangler dev` processes on real TCP ports, driven by real socket.io clients;
 * - browser: the demo page in a headless Chromium shipped by an npm package, through playwright-core.
 */
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "test-output/results.json" },
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
                DEMO_SEED: await readFile("./scripts/demo-seed.sql", "utf8"),
              },
            },
          })),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], setupFiles: ["test/worker/setup-database.ts"] },
      },
      {
        test: { name: "browser", include: ["test/browser/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 90_000 },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
