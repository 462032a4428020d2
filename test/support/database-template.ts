import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { prepareLocalDatabase } from "../../scripts/local-server.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    /** Local state with the D1 migrations applied and the demo app seeded, which each test server copies. */
    databaseTemplate: string;
  }
}

/** Prepares the local database once per test run: applying migrations and the seed takes seconds each time. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = await mkdtemp(join(tmpdir(), "socketpot-template-"));
  await prepareLocalDatabase({ persistTo: template });
  project.provide("databaseTemplate", template);
  return () => rm(template, { recursive: true, force: true });
}
