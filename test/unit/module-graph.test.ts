import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/local-server.mjs";


const parse = (file: string) => ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);

/** Every module of src/, as paths under src/. */
const sourceModules = () => readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((path) => path.endsWith(".ts"));

/** The modules and packages a module imports for its evaluation: static imports, not types, not import(). */
function staticImports(file: string): string[] {
  const source = parse(file);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
  }
  return specifiers.map((specifier) => {
    if (!specifier.startsWith(".")) return specifier;
    const path = join(dirname(file), specifier.replace(/\.js$/, ".ts"));
    if (!existsSync(path)) throw new Error(`${file} imports ${specifier}, which is not a module of src/`);
    return path;
  });
}

/**
 * zod's methods that make a schema from another: at a module's top level, called on a schema of another module
 * (`Role.default("MEMBER")`), one builds both the stand-in's schema and a new one as the module loads.
 */
const DERIVING = new Set(["extend", "pick", "omit", "partial", "required", "array", "optional", "nullable", "nullish", "default", "catch", "refine", "superRefine", "transform", "pipe", "and", "or", "meta", "describe", "openapi", "brand", "readonly"]);

/** A call of one of zod's deriving methods on a named value (`Schema.extend({...})`, `Schema.array()`). */
function derivesSchema(call: ts.CallExpression): boolean {
  return ts.isPropertyAccessExpression(call.expression) && DERIVING.has(call.expression.name.text) && rootOf(call) !== null;
}

/** The identifier a chain of calls and property reads starts from (`z` for `z.object({}).nullable()`). */
function rootOf(expression: ts.Expression): string | null {
  let node: ts.Expression = expression;
  while (ts.isCallExpression(node) || ts.isPropertyAccessExpression(node)) node = node.expression;
  return ts.isIdentifier(node) ? node.text : null;
}

/** Everything the Worker's entry evaluates when an isolate starts, as paths under the root and package names. */
function evaluatedAtStart(): Set<string> {
  const seen = new Set<string>();
  const pending = [join(ROOT, "src/index.ts")];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const name = file.startsWith("/") ? relative(ROOT, file) : file;
    if (seen.has(name)) continue;
    seen.add(name);
    if (file.startsWith("/")) pending.push(...staticImports(file));
  }
  return seen;
}

/** The modules of src/ a module loads with `import()`, as paths under the root. */
function dynamicImports(file: string): string[] {
  const source = parse(file);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      found.push(specifier && ts.isStringLiteral(specifier) ? relative(ROOT, join(dirname(file), specifier.text.replace(/\.js$/, ".ts"))) : "(computed)");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * What a fresh isolate's start-up is spared (docs/benchmarks.md#the-cold-path): its modules are all evaluated, but
 * none builds anything as it loads. The admin and event APIs are built by their first request
 * (test/worker/cold-path.test.ts), every zod schema by its first use.
 */
describe("the Worker's start-up", () => {
  const atStart = evaluatedAtStart();
  it("loads no module with import(): esbuild would wrap such a module, and every module it imports (zod and Hono among them), in lazy initializers that cost start-up more than evaluating them", () => {
    const loaded = sourceModules().flatMap((path) => dynamicImports(join(ROOT, "src", path)).map((target) => `${path} -> ${target}`));
    expect(loaded).toEqual([]);
  });
  it("builds no zod schema in any module it evaluates, nor derives one from another module's: each is built on its first use (builtOnFirstUse)", () => {
    const built: string[] = [];
    for (const name of [...atStart].filter((each) => each.startsWith("src/"))) {
      const source = parse(join(ROOT, name));
      // What runs when the module loads: its statements, less the bodies of the functions and classes they declare.
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
        if (ts.isCallExpression(node) && (rootOf(node) === "z" || derivesSchema(node))) built.push(`${name}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`);
        else ts.forEachChild(node, visit);
      };
      source.statements.forEach(visit);
    }
    expect(built).toEqual([]);
  });
  it("evaluates the connect path's modules, and the parts it does not use", () => {
    expect(atStart).toContain("src/shard/connection-shard.ts");
    expect(atStart).toContain("src/http/admin-schemas.ts");
    expect(atStart).toContain("src/socketpot/room.ts");
    expect(atStart).toContain("zod");
  });
});

/**
 * In the bundle, `zod` is src/bundle/zod-for-openapi.ts, whose `z` holds only `ZodType`: a module that took `z`
 * by name (`import { z } from "zod"`, or from @hono/zod-openapi, which re-exports it) would type-check and then
 * fail in production. Modules take zod as a namespace instead.
 */
describe("zod in the bundle", () => {
  it("is imported as a namespace by every module, never as a named z", () => {
    const named = sourceModules().flatMap((path) =>
      parse(join(ROOT, "src", path)).statements.flatMap((statement) => {
        if (!ts.isImportDeclaration(statement) || !["zod", "@hono/zod-openapi"].includes((statement.moduleSpecifier as ts.StringLiteral).text)) return [];
        const bindings = statement.importClause?.namedBindings;
        const takesZ = statement.importClause?.name !== undefined || (bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.some((element) => (element.propertyName ?? element.name).text === "z"));
        return takesZ ? [path] : [];
      }),
    );
    expect(named).toEqual([]);
  });
});
