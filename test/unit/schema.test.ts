import { readFile, readdir } from "node:fs/promises";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);

/** The tables and indexes a script creates, as SQLite records them. */
function shapeOf(sql: string): unknown[] {
  const db = new DatabaseSync(":memory:");
  db.exec(sql);
  const shape = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
    .all();
  db.close();
  return shape;
}

describe("D1 schema", () => {
  it("schema.sql is exactly what the migrations build, in order", async () => {
    const names = (await readdir(new URL("migrations/", root))).filter((name) => name.endsWith(".sql")).sort();
    expect(names.length).toBeGreaterThan(0);
    const migrations = await Promise.all(names.map((name) => readFile(new URL(`migrations/${name}`, root), "utf8")));
    const schema = await readFile(new URL("schema.sql", root), "utf8");
    expect(shapeOf(migrations.join("\n"))).toEqual(shapeOf(schema));
  });
});
