// The Worker's script before wrangler bundles it (wrangler.toml's [build], before `wrangler dev` and `wrangler
// deploy`): src/index.ts bundled with esbuild, then its arrow functions rewritten as function expressions where
// nothing can tell (scripts/lazy-functions.mjs says why), into build/worker.js with a source map back to src/.
// wrangler bundles that file as it did src/index.ts (minifying it, adding its development middleware) and
// follows the map, so stack traces still name src/ files and lines.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import remapping from "@jridgewell/remapping";
import { parse } from "acorn";
import { build } from "esbuild";
import { lazyFunctions } from "./lazy-functions.mjs";
import { replaceFile } from "./replace-file.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** What wrangler.toml's `main` names. */
const WORKER_SCRIPT = join(ROOT, "build", "worker.js");

/**
 * Module specifiers resolved to modules of our own, for what the bundle holds of two libraries (each module
 * says why): zod without its 40-odd locales, and zod-to-openapi without its document generator.
 */
const ALIASES = {
  zod: join(ROOT, "src/bundle/zod-for-openapi.ts"),
  "@asteasolutions/zod-to-openapi": join(ROOT, "src/bundle/zod-to-openapi-without-generator.ts"),
};

/**
 * zod's schema module imports its two JSON Schema modules, whose converters are about 17 KB of the bundle that
 * nothing in the Worker runs (src/bundle/zod-json-schema-stand-in.ts). That module alone gets a stand-in for each,
 * which exports every name of the real module as the function that throws, but for two kinds of name:
 * - `aggregateChecks` stays real: the schemas' getters (`minLength`, `isInt`, ...) read it;
 * - the method factories return the function that throws, instead of throwing: the `~standard` getter, which
 *   Standard Schema validators read, calls one to make its `jsonSchema` methods.
 * A `z.toJSONSchema` imported by our code would bundle the real converters, and they would still throw here.
 */
const JSON_SCHEMA_MODULES = {
  "json-schema-processors.js": { kept: ["aggregateChecks"], factories: [] },
  "to-json-schema.js": { kept: [], factories: ["createToJSONSchemaMethod", "createStandardJSONSchemaMethod"] },
};
const JSON_SCHEMA_IMPORT = new RegExp(`^\\.\\./core/(${Object.keys(JSON_SCHEMA_MODULES).join("|").replaceAll(".", "\\.")})$`);
const JSON_SCHEMA_IMPORTER = /[\\/]zod[\\/]v4[\\/]classic[\\/]schemas\.js$/;

/** The names a module exports, read from its source; it fails on an export whose names it cannot list. */
function exportedNames(source, path) {
  const names = [];
  const unlisted = (node) => new Error(`${path}: cannot list the names of \`${source.slice(node.start, node.end).split("\n")[0]}\``);
  const nameOf = (node) => (node.type === "Literal" ? node.value : node.name);
  for (const node of parse(source, { ecmaVersion: "latest", sourceType: "module" }).body) {
    if (node.type === "ExportAllDeclaration" || node.type === "ExportDefaultDeclaration") throw unlisted(node);
    if (node.type !== "ExportNamedDeclaration") continue;
    for (const declarator of node.declaration?.declarations ?? (node.declaration ? [node.declaration] : [])) {
      if (declarator.id.type !== "Identifier") throw unlisted(node);
      names.push(declarator.id.name);
    }
    names.push(...node.specifiers.map((specifier) => nameOf(specifier.exported)));
  }
  return names;
}

/** The module that stands for zod's JSON Schema module at `path`. */
async function jsonSchemaStandIn(path) {
  const names = exportedNames(await readFile(path, "utf8"), path);
  const { kept, factories } = JSON_SCHEMA_MODULES[basename(path)];
  // A kept name or a factory that zod renamed would otherwise go unseen, and the name would stand for a thrower.
  const missing = [...kept, ...factories].filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`${path} no longer exports ${missing.join(", ")}: scripts/build-worker.mjs must follow zod`);
  const standIn = relative(dirname(path), join(ROOT, "src/bundle/zod-json-schema-stand-in.ts")).replaceAll("\\", "/");
  const lines = [`import { notInTheWorker } from ${JSON.stringify(standIn)};`, "const returnsNotInTheWorker = () => notInTheWorker;"];
  for (const name of names) {
    const quoted = JSON.stringify(name);
    if (kept.includes(name)) lines.push(`export { ${quoted} } from "./${basename(path)}";`);
    else if (factories.includes(name)) lines.push(`export { returnsNotInTheWorker as ${quoted} };`);
    else lines.push(`export { notInTheWorker as ${quoted} };`);
  }
  return lines.join("\n");
}

/**
 * A digest of what the script is built from. Every integration test file's `wrangler dev` runs this build, and
 * with the same inputs it writes the same script: it is built again only when they change.
 */
async function inputsDigest() {
  const sources = (await readdir(join(ROOT, "src"), { recursive: true })).filter((path) => /\.m?[jt]s$/.test(path)).map((path) => join("src", path));
  const hash = createHash("sha256");
  for (const path of [...sources.sort(), "package-lock.json", "tsconfig.json", "scripts/build-worker.mjs", "scripts/lazy-functions.mjs"]) {
    hash.update(`${path}\0`).update(await readFile(join(ROOT, path))).update("\0");
  }
  return hash.digest("hex");
}

/** Builds the Worker's script into `outfile` (and `outfile`.map), unless the one there was built from these inputs. */
async function buildWorkerScript(outfile) {
  const digest = await inputsDigest();
  const digestFile = `${outfile}.inputs`;
  if ((await readFile(digestFile, "utf8").catch(() => null)) === digest && existsSync(outfile) && existsSync(`${outfile}.map`)) return;
  const name = basename(outfile);
  const bundled = await build({
    entryPoints: [join(ROOT, "src/index.ts")],
    bundle: true,
    format: "esm",
    // What wrangler's own bundling of src/index.ts used: workerd's V8 runs ES2024, and packages resolve to
    // their Workers builds.
    target: "es2024",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    sourcemap: "external",
    write: false,
    outfile,
    logLevel: "error",
    // A name a stand-in lacks would be undefined where zod calls it: fail the build instead.
    logOverride: { "import-is-undefined": "error" },
    plugins: [
      {
        name: "socketpot-aliases",
        setup(builder) {
          builder.onResolve({ filter: /^(zod|@asteasolutions\/zod-to-openapi)$/ }, ({ path }) => ({ path: ALIASES[path] }));
          builder.onResolve({ filter: JSON_SCHEMA_IMPORT }, ({ path, importer, resolveDir }) =>
            JSON_SCHEMA_IMPORTER.test(importer) ? { path: relative(ROOT, join(resolveDir, path)), namespace: "zod-json-schema-stand-in" } : undefined,
          );
          builder.onLoad({ filter: /.*/, namespace: "zod-json-schema-stand-in" }, async ({ path }) => ({ contents: await jsonSchemaStandIn(join(ROOT, path)), loader: "js", resolveDir: dirname(join(ROOT, path)) }));
        },
      },
    ],
  });
  const script = bundled.outputFiles.find((file) => file.path.endsWith(".js")).text;
  const bundleMap = JSON.parse(bundled.outputFiles.find((file) => file.path.endsWith(".map")).text);
  const lazy = lazyFunctions(script.replace(/\n\/\/# sourceMappingURL=.*\n?$/, "\n"), name);
  // The rewrite's map, through the bundle's, back to src/ and node_modules/ (relative to the output, as esbuild's).
  const map = remapping(lazy.map.toString(), (file) => (file === name ? bundleMap : null));
  await replaceFile(`${outfile}.map`, map.toString());
  await replaceFile(outfile, `${lazy.code}//# sourceMappingURL=${name}.map\n`);
  await replaceFile(digestFile, digest);
}

await buildWorkerScript(WORKER_SCRIPT);
