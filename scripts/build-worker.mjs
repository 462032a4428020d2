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
 * zod's schema module imports its JSON Schema converters, about 18 KB of the bundle that nothing in the Worker
 * runs (src/bundle/zod-json-schema-stand-in.ts). That module alone gets stand-ins for them, one for each export of
 * the real module, that throw. `aggregateChecks` stays real: the schemas' getters (`minLength`, `isInt`, ...) read it.
 */
const JSON_SCHEMA_IMPORT = /^\.\.\/core\/(json-schema-processors|to-json-schema)\.js$/;
const JSON_SCHEMA_IMPORTER = /[\\/]zod[\\/]v4[\\/]classic[\\/]schemas\.js$/;
const KEPT_FROM_JSON_SCHEMA = new Set(["aggregateChecks"]);
/** Called as a schema's methods are made; what they return would convert. */
const JSON_SCHEMA_METHOD_FACTORIES = new Set(["createToJSONSchemaMethod", "createStandardJSONSchemaMethod"]);

/** The names a module exports, read from its source. */
function exportedNames(source) {
  const names = [];
  for (const node of parse(source, { ecmaVersion: "latest", sourceType: "module" }).body) {
    if (node.type !== "ExportNamedDeclaration") continue;
    if (node.declaration?.type === "VariableDeclaration") names.push(...node.declaration.declarations.map((declarator) => declarator.id.name));
    else if (node.declaration) names.push(node.declaration.id.name);
    names.push(...node.specifiers.map((specifier) => specifier.exported.name));
  }
  return names;
}

/** The module that stands for zod's JSON Schema module at `path`. */
async function jsonSchemaStandIn(path) {
  const lines = [`import { notInTheWorker } from ${JSON.stringify(join(ROOT, "src/bundle/zod-json-schema-stand-in.ts"))};`];
  for (const name of exportedNames(await readFile(path, "utf8"))) {
    if (KEPT_FROM_JSON_SCHEMA.has(name)) lines.push(`export { ${name} } from "./${basename(path)}";`);
    else if (JSON_SCHEMA_METHOD_FACTORIES.has(name)) lines.push(`export const ${name} = () => notInTheWorker;`);
    else lines.push(`export const ${name} = notInTheWorker;`);
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
