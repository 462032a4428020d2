import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lazyFunctions } from "../../scripts/lazy-functions.mjs";
import { buildWorker, ROOT } from "../../scripts/local-server.mjs";
import { STATIC_ASSET_FILE_BYTES, STATIC_ASSET_FILES } from "../../src/limits.js";

/**
 * The bundle `wrangler deploy` uploads (a dry run, as wrangler.toml builds it): what the cold path's figures in
 * docs/benchmarks.md rely on, and what keeps its errors readable.
 */
describe("the deployed bundle", () => {
  let directory: string;
  let script: string;
  let map: SourceMapPayload;
  let sources: string[];
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "socketpot-bundle-"));
    const path = await buildWorker(directory);
    script = await readFile(path, "utf8");
    map = JSON.parse(await readFile(`${path}.map`, "utf8")) as SourceMapPayload;
    sources = map.sources;
  }, 60_000);
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it("is minified, with a source map that names src/ modules for stack traces", () => {
    expect(script.split("\n").length).toBeLessThan(500);
    expect(sources.some((source) => source.endsWith("src/http/edge.ts"))).toBe(true);
    expect(sources.some((source) => source.endsWith("src/socketpot/room.ts"))).toBe(true);
  });

  // V8 parses an arrow in full where it meets it, a function expression when it first runs (scripts/lazy-functions.mjs).
  it("holds no arrow function that could be a function expression: the build rewrote each, and minifying made none", () => {
    const { rewritten, kept } = lazyFunctions(script.replace(/\/\/# sourceMappingURL=.*\s*$/, ""), "worker.js");
    expect(rewritten).toBe(0);
    // Those left read their function's `this` (Hono's classes and ours have such methods).
    expect(kept).toBeGreaterThan(0);
  });

  // The map is two builds' maps composed (scripts/build-worker.mjs, then wrangler's): a line of the minified
  // bundle leads to its line in src/, not only to the right file.
  it("maps a place in the bundle to its line in src/", async () => {
    const marker = "names no app and has no Origin to find it by";
    const offset = script.indexOf(marker);
    const before = script.slice(0, offset).split("\n");
    const entry = new SourceMap(map).findEntry(before.length - 1, before.at(-1)!.length);
    const edge = (await readFile(join(ROOT, "src/http/edge.ts"), "utf8")).split("\n");
    expect("originalSource" in entry && entry.originalSource.endsWith("src/http/edge.ts")).toBe(true);
    expect("originalLine" in entry && edge[entry.originalLine]).toContain(marker);
  });

  it("holds zod without its locales but English (src/bundle/zod-for-openapi.ts)", () => {
    const locales = sources.filter((source) => /zod\/v4\/locales\/(?!index\.js$)/.test(source)).map((source) => source.replace(/.*\/locales\//, ""));
    expect(locales).toEqual(["en.js"]);
  });

  it("holds zod-to-openapi's registry but not its generator: the build generates the OpenAPI document (src/bundle/zod-to-openapi-without-generator.ts)", () => {
    expect(sources.some((source) => source.endsWith("@asteasolutions/zod-to-openapi/dist/index.mjs"))).toBe(true);
    // The generator's own references to components, and its error for a zod type it cannot describe.
    expect(["#/components/schemas/", "Unknown zod object type"].filter((marker) => script.includes(marker))).toEqual([]);
  });

  it("holds zod's schemas without their JSON Schema converters, and the stand-in that says so (src/bundle/zod-json-schema-stand-in.ts)", () => {
    // What the converters say of a target and of a type they cannot describe.
    expect(["draft-2020-12", "Non-representable type"].filter((marker) => script.includes(marker))).toEqual([]);
    expect(script).toContain("zod's JSON Schema conversion is not in the Worker's bundle");
  });

  // The build (run by the dry run above) adds the browser libraries and the OpenAPI document to public/.
  it("ships static assets within Cloudflare's limits: the files of one version, and the bytes of each", async () => {
    const files = (await readdir(join(ROOT, "public"), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(files.length).toBeLessThanOrEqual(STATIC_ASSET_FILES);
    const sizes = await Promise.all(files.map(async (file) => ({ path: join(file.parentPath, file.name), bytes: (await stat(join(file.parentPath, file.name))).size })));
    expect(sizes.filter(({ bytes }) => bytes > STATIC_ASSET_FILE_BYTES)).toEqual([]);
    expect(sizes.map(({ path }) => path)).toContain(join(ROOT, "public/v1/admin/openapi.json"));
  });

  // Cloudflare's limit is 64 MiB, uncompressed (https://developers.cloudflare.com/workers/platform/limits/#worker-size).
  it("is within the Worker size limit, and under the 500,000 bytes the cold-path work brought it to (docs/benchmarks.md#the-cold-path)", () => {
    expect(Buffer.byteLength(script)).toBeLessThan(500_000);
  });
});
