import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BEFORE_EXPAND_THEN_CONTRACT } from "../support/migrations.js";

const MIGRATIONS = join(import.meta.dirname, "../../migrations");

/** A migration's statements, without comments. */
const statements = (file: string) =>
  readFileSync(join(MIGRATIONS, file), "utf8")
    .replace(/--.*$/gm, "")
    .split(";")
    .map((statement) => statement.replace(/\s+/g, " ").trim())
    .filter(Boolean);

/**
 * Expand, then contract (docs/deploy.md#rolling-back): during a deploy, and after a rollback, the release before
 * a migration runs on the schema after it. A migration that expands adds only what that release can ignore; one
 * that contracts (drops or renames) says so in its first line, `-- contract: …`, naming the release since which
 * no code reads what it removes. test/integration/upgrade.test.ts runs the previous release on the newest one.
 */
describe("every D1 migration", () => {
  const files = readdirSync(MIGRATIONS).filter((file) => file.endsWith(".sql")).sort();
  it.each(files.filter((file) => !BEFORE_EXPAND_THEN_CONTRACT.has(file)))("%s adds only what the release before it can ignore, or says it contracts", (file) => {
    const contracts = /^-- contract: \S/.test(readFileSync(join(MIGRATIONS, file), "utf8"));
    const removing = statements(file).filter((statement) => /\b(DROP|RENAME)\b/i.test(statement));
    const requiredColumns = statements(file).filter((statement) => /ADD COLUMN/i.test(statement) && /NOT NULL/i.test(statement) && !/DEFAULT/i.test(statement));
    expect(requiredColumns).toEqual([]);
    if (!contracts) expect(removing).toEqual([]);
  });
});
