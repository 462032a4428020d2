/**
 * A value made on its first use instead of when its module loads: a part of the Worker that most isolates never
 * need (the admin and event APIs, with their routes and OpenAPI schemas). Every deploy starts fresh isolates that
 * serve connects at once, and a connecting client needs neither. The parts' modules are imported statically, and
 * cost little more than their compilation at start-up: a module reached by `import()` would have esbuild wrap it,
 * and every module it imports, the connect path's zod and Hono among them, in lazy initializers, which made
 * start-up slower than evaluating them (docs/benchmarks.md, "The cold path").
 */
export class OnFirstUse<T> {
  #made = false;
  #value: T | undefined;

  constructor(private readonly make: () => T) {}

  get(): T {
    if (!this.#made) {
      this.#value = this.make();
      this.#made = true;
    }
    return this.#value as T;
  }

  get made(): boolean {
    return this.#made;
  }
}

/**
 * A value built on its first use instead of when its module loads: for zod schemas, which cost far more to build
 * than to use once built, and of which an isolate uses few (a Worker's the edge's, an object's the room's). What
 * is returned stands for the value: every property read, call and `in` goes to the value, built once. It has
 * no own keys, so spreading it or listing its keys sees nothing (no zod schema is used that way).
 */
export function builtOnFirstUse<T extends object>(build: () => T): T {
  let value: T | undefined;
  const built = () => (value ??= build());
  return new Proxy({} as T, {
    get: (_, key) => Reflect.get(built(), key),
    set: (_, key, property) => Reflect.set(built(), key, property),
    has: (_, key) => Reflect.has(built(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(built()),
  });
}
