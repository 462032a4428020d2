import type { TestProject } from "vitest/node";
import { seededDatabase } from "../../scripts/local-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    /** Local state with the D1 migrations applied and the demo app seeded, which each test server copies. */
    databaseTemplate: string;
  }
}

/** Finds (or, the first time, builds) the migrated and seeded local state that every test server starts from. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide("databaseTemplate", await seededDatabase());
}
