// Rewrites a script's arrow functions as function expressions wherever that changes nothing the script can
// observe, so that V8 compiles them only when they first run.
//
// Why: in workerd an arrow function cost its compilation when the script was compiled, while a function
// expression was pre-parsed and compiled on its first call (Node's V8 compiled the two alike). zod, Hono and our
// own modules hold over a thousand arrows that an isolate's first requests never call. The same 3,000 callbacks
// took 58 ms to start as arrows and 32 ms as function expressions; the bundle started 17% sooner rewritten
// (docs/benchmarks.md, "Arrow functions compiled on first use").
//
// What is kept as an arrow: one that reads `this`, `arguments`, `super` or `new.target` (a function expression
// would have its own), or calls `eval`, which could read them, counting those in arrows nested in it but not in
// nested functions, which have their own too; one that begins an expression statement or is a default export,
// where `function` would begin a declaration; and one with a block body that ends a line before a token that
// could continue a function expression but not an arrow (`(`, `[`, `.`, an operator, a template), where
// automatic semicolon insertion ends the arrow's statement and would not end the function's. What still
// differs is that a function expression has a `prototype` and can be called with `new`: code that tells the two
// apart that way would see it (nothing in this Worker's bundle does; the test suites run on the rewritten
// script).
import { Parser } from "acorn";
import MagicString from "magic-string";

/** Node types whose `this`, `arguments`, `super` and `new.target` are their own. */
const OWN_THIS = new Set(["FunctionExpression", "FunctionDeclaration"]);

/** Identifiers an arrow reads from its enclosing function: `arguments`, and `eval`, which may read anything. */
const ENCLOSING_NAMES = new Set(["arguments", "eval"]);

/** Whitespace and comments, then the token after them: where ASI may end a statement after an arrow's body. */
const NEXT_TOKEN = /^((?:\s|\/\/[^\n\r\u2028\u2029]*|\/\*[\s\S]*?\*\/)*)(\S*)/;

/** Whether a statement ending at `end` would go on into the next line if it ended in a function expression. */
function continuesOnNextLine(code, end) {
  const [, gap, next] = NEXT_TOKEN.exec(code.slice(end, end + 4096));
  return /[\n\r\u2028\u2029]/.test(gap) && (/^[([.`+\-*/%<>=&|^?!~]/.test(next) || /^(in|instanceof)\b/.test(next));
}

/**
 * `code` (an ES module) with its arrow functions rewritten where that is safe; `map` maps the result back to
 * `code`, as a source map naming `source`.
 */
export function lazyFunctions(code, source) {
  const ast = Parser.parse(code, { ecmaVersion: "latest", sourceType: "module", preserveParens: true });
  const script = new MagicString(code);
  const statementStarts = new Set();
  let rewritten = 0;
  let kept = 0;

  /** Visits `node` and what it holds; returns whether it reads its function's `this` (or the like) itself. */
  function visit(node) {
    if (node.type === "ExpressionStatement") statementStarts.add(node.start);
    if (node.type === "ExportDefaultDeclaration") statementStarts.add(node.declaration.start);
    let readsOwnThis = node.type === "ThisExpression" || node.type === "Super" || node.type === "MetaProperty" || (node.type === "Identifier" && ENCLOSING_NAMES.has(node.name));
    for (const [key, value] of Object.entries(node)) {
      if (key === "type" || key === "start" || key === "end") continue;
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child !== null && typeof child === "object" && typeof child.type === "string" && visit(child)) readsOwnThis = true;
      }
    }
    if (node.type === "ArrowFunctionExpression") {
      if (readsOwnThis || statementStarts.has(node.start) || (!node.expression && continuesOnNextLine(code, node.end))) kept++;
      else {
        rewrite(node);
        rewritten++;
      }
    }
    return readsOwnThis && !OWN_THIS.has(node.type);
  }

  // `(a, b) => x` becomes ` function(a, b){return x}`: the parameters and the body stay where they are, so that an
  // arrow nested in either is rewritten in place too. The leading space keeps `return()=>a` from becoming
  // `returnfunction`.
  function rewrite(arrow) {
    const head = arrow.async ? " async function(" : " function(";
    const open = arrow.expression ? "{return " : "";
    const { params, body } = arrow;
    if (params.length === 0) {
      script.overwrite(arrow.start, body.start, `${head})${open}`);
    } else {
      const first = params[0].start;
      const last = params.at(-1).end;
      if (arrow.start < first) script.overwrite(arrow.start, first, head);
      else script.prependRight(first, head);
      script.overwrite(last, body.start, `)${open}`);
    }
    if (arrow.expression) script.appendLeft(body.end, "}");
  }

  visit(ast);
  return { code: script.toString(), map: script.generateMap({ source, hires: true, includeContent: false }), rewritten, kept };
}
