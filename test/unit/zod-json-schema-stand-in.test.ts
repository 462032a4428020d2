import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "acorn";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Zod from "zod";
import { ROOT } from "../../scripts/local-server.mjs";
import { exportedNames, jsonSchemaStandIn, zodJsonSchemaStandIns } from "../../scripts/zod-json-schema-stand-in.mjs";

const ZOD_CORE = join(ROOT, "node_modules/zod/v4/core");
const NOT_IN_THE_WORKER = /zod's JSON Schema conversion is not in the Worker's bundle/;

/** The build's stand-ins for zod's JSON Schema converters (scripts/zod-json-schema-stand-in.mjs). */
describe("zod's JSON Schema converters in the Worker's bundle", () => {
  describe("the names a module exports", () => {
    it("lists declarations, specifiers (string names too) and re-exports", () => {
      const source = 'export const a = 1, b = 2; export function c() {} export class D {} const e = 5; export { e as f, e as "g-h" }; export { i } from "./j.js";';
      expect(exportedNames(source, "m.js")).toEqual(["a", "b", "c", "D", "f", "g-h", "i"]);
    });

    it.each([
      ["a star export", 'export * from "./m.js";'],
      ["a namespace export", 'export * as ns from "./m.js";'],
      ["a default export", "export default 1;"],
      ["a destructured declaration", "export const { p, q } = {};"],
    ])("fails on %s, whose names it cannot list", (_kind, source) => {
      expect(() => exportedNames(source, "m.js")).toThrow(/cannot list the names/);
    });
  });

  describe("a stand-in", () => {
    /** What each name a stand-in exports is: the real module's (`real`), the thrower, or the factory that returns it. */
    const standsFor = (standIn: string) => {
      const exports: Record<string, string> = {};
      for (const node of parse(standIn, { ecmaVersion: "latest", sourceType: "module" }).body) {
        if (node.type !== "ExportNamedDeclaration") continue;
        for (const specifier of node.specifiers) {
          const name = (specifier.exported as { value?: string; name?: string }).value ?? (specifier.exported as { name: string }).name;
          exports[name] = node.source ? "real" : (specifier.local as { name: string }).name;
        }
      }
      return exports;
    };

    it.each([
      ["json-schema-processors.js", { aggregateChecks: "real" }],
      ["to-json-schema.js", { createToJSONSchemaMethod: "returnsNotInTheWorker", createStandardJSONSchemaMethod: "returnsNotInTheWorker" }],
    ])("stands for each name zod's %s exports: the kept ones real, the factories returning the thrower, the rest the thrower", async (file, exceptions) => {
      const path = join(ZOD_CORE, file);
      const real = await readFile(path, "utf8");
      const expected = Object.fromEntries(exportedNames(real, path).map((name) => [name, exceptions[name as keyof typeof exceptions] ?? "notInTheWorker"]));
      expect(Object.keys(expected).length).toBeGreaterThan(Object.keys(exceptions).length);
      expect(standsFor(jsonSchemaStandIn(real, path))).toEqual(expected);
    });

    it("refuses to stand in for a module that no longer exports a name it keeps or a factory", () => {
      const renamed = "export function aggregateChecksRenamed() {} export const stringProcessor = () => {};";
      expect(() => jsonSchemaStandIn(renamed, join(ZOD_CORE, "json-schema-processors.js"))).toThrow(/no longer exports aggregateChecks/);
      expect(() => jsonSchemaStandIn("export const createToJSONSchemaMethod = 1;", join(ZOD_CORE, "to-json-schema.js"))).toThrow(
        /no longer exports createStandardJSONSchemaMethod/,
      );
    });

    it("fails the build where zod's schema module reads a name the stand-in lacks", async () => {
      const root = await mkdtemp(join(tmpdir(), "socketpot-zod-shape-"));
      try {
        const zod = join(root, "node_modules/zod");
        await mkdir(join(zod, "v4/classic"), { recursive: true });
        await mkdir(join(zod, "v4/core"), { recursive: true });
        await writeFile(join(zod, "package.json"), '{ "name": "zod", "type": "module", "main": "./v4/classic/schemas.js" }');
        // A schema module that reads a name its processors module does not export.
        await writeFile(join(zod, "v4/classic/schemas.js"), 'import * as processors from "../core/json-schema-processors.js";\nexport const f = () => processors.renamed();\n');
        await writeFile(join(zod, "v4/core/json-schema-processors.js"), "export function aggregateChecks() {}\nexport const stringProcessor = () => 1;\n");
        const building = build({ stdin: { contents: 'export { f } from "zod";', resolveDir: root }, bundle: true, format: "esm", write: false, logLevel: "silent", plugins: [zodJsonSchemaStandIns(root)] });
        await expect(building).rejects.toThrow(/Import "renamed" will always be undefined/);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  });

  // All of zod's namespace, so the real converters are in this bundle too (the Worker's has only what it uses).
  describe("zod bundled with the stand-ins, and run", () => {
    let directory: string;
    let z: typeof Zod;
    let bundledSources: string[];
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), "socketpot-zod-"));
      const result = await build({
        stdin: { contents: 'export * as z from "zod";', resolveDir: ROOT },
        bundle: true,
        format: "esm",
        platform: "neutral",
        mainFields: ["module", "main"],
        outfile: join(directory, "zod.mjs"),
        metafile: true,
        logLevel: "silent",
        plugins: [zodJsonSchemaStandIns(ROOT)],
      });
      bundledSources = Object.keys(result.metafile.inputs);
      ({ z } = (await import(pathToFileURL(join(directory, "zod.mjs")).href)) as { z: typeof Zod });
    }, 60_000);
    afterAll(() => rm(directory, { recursive: true, force: true }));

    it("has the schema module import the stand-ins", () => {
      expect(bundledSources).toContain("zod-json-schema-stand-in:node_modules/zod/v4/core/to-json-schema.js");
      expect(bundledSources).toContain("zod-json-schema-stand-in:node_modules/zod/v4/core/json-schema-processors.js");
    });

    it("parses, and reports issues, as zod does", () => {
      const schema = z.object({ name: z.string().min(2), count: z.number().int() });
      expect(schema.parse({ name: "ab", count: 3 })).toEqual({ name: "ab", count: 3 });
      const failed = schema.safeParse({ name: "a", count: 1.5 });
      expect(failed.success).toBe(false);
      expect(z.prettifyError(failed.error!)).toContain("Too small: expected string to have >=2 characters");
    });

    it("keeps the checks' getters, which read the real aggregateChecks", () => {
      const text = z.string().min(2).max(5);
      expect([text.minLength, text.maxLength]).toEqual([2, 5]);
      expect(z.number().int().isInt).toBe(true);
    });

    it("validates through ~standard, which makes its jsonSchema methods from a factory", async () => {
      const standard = z.string()["~standard"];
      expect(await standard.validate("x")).toEqual({ value: "x" });
      expect(() => (standard as unknown as { jsonSchema: { input: () => unknown } }).jsonSchema.input()).toThrow(NOT_IN_THE_WORKER);
    });

    it("throws, saying why, where anything converts a schema", () => {
      expect(() => z.string().toJSONSchema()).toThrow(NOT_IN_THE_WORKER);
      // The real converter, which this bundle holds because it exports all of zod, meets the schemas' stand-ins.
      expect(() => z.toJSONSchema(z.string())).toThrow(NOT_IN_THE_WORKER);
    });
  });
});
