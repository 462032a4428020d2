import { describe, expect, it } from "vitest";
import { lazyFunctions } from "../../scripts/lazy-functions.mjs";

/** Each case's statements, as the body of a function of a module (the bundle is one). */
const script = (statements: string) => `function main() {\n${statements}\n}\n`;

/** Runs `code` (a {@link script}) and returns what its function returned. */
const run = (code: string): unknown => new Function(`${code}return main();`)();

/** A case's script, rewritten. */
const rewritten = (statements: string) => lazyFunctions(script(statements), "input.js");

/**
 * The build's rewrite of arrow functions (scripts/lazy-functions.mjs): each case is a script whose result must be
 * the same before and after, and says which arrows become function expressions.
 */
describe("arrow functions rewritten as function expressions", () => {
  const cases: { name: string; source: string; rewritten: number }[] = [
    { name: "expression bodies, with and without parentheses", source: "const a = x => x + 1, b = (x, y) => x * y, c = () => 7; return [a(1), b(2, 3), c()];", rewritten: 3 },
    { name: "an object literal as the body", source: "const f = (k) => ({ [k]: k.length }); return f('abc');", rewritten: 1 },
    { name: "a sequence as the body", source: "let n = 0; const f = () => (n++, n * 10); return [f(), n];", rewritten: 1 },
    { name: "block bodies and nested arrows", source: "const add = (x) => (y) => { const z = x + y; return () => z; }; return add(1)(2)();", rewritten: 3 },
    { name: "an arrow in a parameter's default", source: "const f = (x, g = (v) => v * 2) => g(x); return f(21);", rewritten: 2 },
    { name: "rest, destructured and defaulted parameters", source: "const f = ({ a }, [b], c = 3, ...rest) => [a, b, c, rest.length]; return f({ a: 1 }, [2], undefined, 4, 5);", rewritten: 1 },
    { name: "async arrows, with one bare parameter and with none", source: "const f = async x => x + 1; const g = async () => 2; return Promise.all([f(1), g()]);", rewritten: 2 },
    { name: "`return` right before an arrow, as a minifier writes it", source: "function f(){return()=>1}function g(){return x=>x}return [f()(), g()(2)];", rewritten: 2 },
    { name: "a class field without `this`", source: "class A { double = (x) => x * 2; } return new A().double(4);", rewritten: 1 },
  ];
  for (const { name, source, rewritten: count } of cases) {
    it(`keeps what the script does: ${name}`, async () => {
      const result = rewritten(source);
      expect(result.rewritten).toBe(count);
      expect(result.code).not.toContain("=>");
      expect(await run(result.code)).toEqual(await run(script(source)));
    });
  }

  const kept: { name: string; source: string }[] = [
    { name: "`this` of a method", source: "const o = { k: 5, m() { return [1].map((x) => this.k + x); } }; return o.m();" },
    { name: "`this` of a class field", source: "class A { k = 2; get = () => this.k; } const { get } = new A(); return get();" },
    { name: "`arguments` of the enclosing function", source: "function f() { return (() => arguments.length)(); } return f(1, 2, 3);" },
    { name: "`super`", source: "class A { m() { return 1; } } class B extends A { m() { return (() => super.m() + 1)(); } } return new B().m();" },
    { name: "`new.target`", source: "function F() { this.t = (() => new.target === F)(); } return new F().t;" },
    { name: "`this` in an arrow nested in it", source: "const o = { k: 3, m() { return (() => () => this.k)()(); } }; return o.m();" },
    { name: "`arguments` through a direct `eval`", source: "function f() { return (() => eval('arguments.length'))(); } return f(1, 2, 3);" },
  ];
  for (const { name, source } of kept) {
    it(`keeps an arrow that reads ${name}`, async () => {
      const result = rewritten(source);
      expect(result.rewritten).toBe(0);
      expect(result.code).toBe(script(source));
    });
  }

  it("rewrites an arrow whose `this` belongs to a function nested in it", () => {
    const source = "const make = () => function () { return this.k; }; return make().call({ k: 9 });";
    const result = rewritten(source);
    expect(result.rewritten).toBe(1);
    expect(run(result.code)).toBe(9);
  });

  it("keeps an arrow that begins a statement, where `function` would begin a declaration", () => {
    const result = rewritten("x => x;\nreturn 1;");
    expect(result).toMatchObject({ rewritten: 0, kept: 1 });
  });

  // Automatic semicolon insertion ends a statement after an arrow's block body at a line break; after a
  // function expression, the next line would call it, index it, divide it or tag a template with it.
  for (const next of ["(1)", "[0]", "/x/g.test('x')", "`t`", "+ 1", "- 1"]) {
    it(`keeps an arrow with a block body that ends a line before ${next}`, async () => {
      const source = `let f = () => {}\n${next}\nreturn typeof f;`;
      const result = rewritten(source);
      expect(result).toMatchObject({ rewritten: 0, kept: 1 });
      expect(run(result.code)).toBe("function");
    });
  }

  // An expression body takes in whatever the next line continues (here `1(2)`), so its end is never such a place.
  it("rewrites an arrow with a block body that ends a line before a statement, and one with an expression body", () => {
    const source = "let f = () => {}\nlet g = () => 1\n(2)\nreturn [typeof f, typeof g];";
    const result = rewritten(source);
    expect(result.rewritten).toBe(2);
    expect(run(result.code)).toEqual(run(script(source)));
  });

  it("keeps an arrow that is a module's default export, where `function` would be a hoisted declaration", () => {
    expect(lazyFunctions("export default () => 1;\n", "input.js")).toMatchObject({ rewritten: 0, kept: 1 });
  });

  it("maps each rewritten function back to its arrow", () => {
    const { code, map } = lazyFunctions("const a = 1;\nconst f = (x) => x + a;\n", "input.js");
    const { mappings, sources } = JSON.parse(map.toString()) as { mappings: string; sources: string[] };
    expect(sources).toEqual(["input.js"]);
    expect(code.split("\n")[1]).toBe("const f =  function(x){return x + a};");
    // Line 2 of the output has mappings of its own: the body is where it was.
    expect(mappings.split(";")[1]).not.toBe("");
  });
});
