// The Worker's script before wrangler bundles it (wrangler.toml's [build], before `wrangler dev` and `wrangler
// deploy`): src/index.ts bundled with esbuild, then its arrow functions rewritten as function expressions where
// nothing can tell (scripts/lazy-functions.mjs says why), into build/worker.js with a source map back to src/.
// wrangler bundles that file as it did src/index.ts (minifying it, adding its development middleware) and
// follows the map, so stack traces still name src/ files and lines.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import remapping from "@jridgewell/remapping";
import { build } from "esbuild";
import { lazyFunctions } from "./lazy-functions.mjs";
import { replaceFile } from "./replace-file.mjs";
import { zodJsonSchemaStandIns } from "./zod-json-schema-stand-in.mjs";

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
/** Exactly those specifiers (none holds a character a regular expression reads as more than itself). */
const ALIASED = new RegExp(`^(${Object.keys(ALIASES).join("|")})$`);

/**
 * A digest of what the script is built from. Every integration test file's `wrangler dev` runs this build, and
 * with the same inputs it writes the same script: it is built again only when they change.
 */
async function inputsDigest() {
  const sources = (await readdir(join(ROOT, "src"), { recursive: true })).filter((path) => /\.m?[jt]s$/.test(path)).map((path) => join("src", path));
  const hash = createHash("sha256");
  for (const path of [...sources.sort(), "package-lock.json", "tsconfig.json", "scripts/build-worker.mjs", "scripts/lazy-functions.mjs", "scripts/zod-json-schema-stand-in.mjs"]) {
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
          builder.onResolve({ filter: ALIASED }, ({ path }) => ({ path: ALIASES[path] }));
        },
      },
      zodJsonSchemaStandIns(ROOT),
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
