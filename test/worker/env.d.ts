import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../src/config.js";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      DEMO_SEED: string;
      MIGRATION_DB: D1Database;
    }
  }
}
