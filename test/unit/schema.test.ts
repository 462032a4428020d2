import { readFile, readdir } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);

/**
 * The tables and indexes a script creates, as SQLite records them, with comments and layout taken out of their
 * SQL (a column that a migration adds with ALTER TABLE is recorded without the schema file's alignment).
 */
function shapeOf(sql: string): unknown[] {
  const db = new DatabaseSync(":memory:");
  db.exec(sql);
  const shape = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
    .all()
    .map((row) => ({ ...row, sql: normalized(String(row["sql"])) }));
  db.close();
  return shape;
}

function normalized(sql: string): string {
  return sql.replace(/--[^\n]*/g, "").replace(/\s+/g, " ").replace(/\s*([(),])\s*/g, "$1").trim();
}

describe("D1 schema", () => {
  it("schema.sql is exactly what the migrations build, in order", async () => {
    const names = (await readdir(new URL("migrations/", root))).filter((name) => name.endsWith(".sql")).sort();
    expect(names.length).toBeGreaterThan(0);
    const migrations = await Promise.all(names.map((name) => readFile(new URL(`migrations/${name}`, root), "utf8")));
    const schema = await readFile(new URL("schema.sql", root), "utf8");
    expect(shapeOf(migrations.join("\n"))).toEqual(shapeOf(schema));
  });

  it("writes every trigger so that D1's remote migration splitter keeps its body whole", async () => {
    // D1 splits a remote migration into statements itself; it keeps a trigger's body together only when BEGIN
    // and END are in capitals and lines end in LF alone (cloudflare/workers-sdk#15314, #14991).
    const names = (await readdir(new URL("migrations/", root))).filter((name) => name.endsWith(".sql"));
    for (const name of [...names.map((file) => `migrations/${file}`), "schema.sql"]) {
      const sql = await readFile(new URL(name, root), "utf8");
      expect(sql.includes("\r"), name).toBe(false);
      for (const trigger of sql.match(/CREATE TRIGGER[\s\S]*?;\s*END;/gi) ?? []) {
        expect(trigger, name).toMatch(/\bBEGIN\b[\s\S]*\bEND;$/);
      }
    }
  });
});
