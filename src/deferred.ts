/**
 * A part of the Worker that most isolates never need, loaded on its first use instead of when the Worker's
 * modules are evaluated. Every deploy starts fresh isolates that serve connects at once, and a connecting client
 * needs none of these parts; what their modules build (routes, OpenAPI and zod schemas) waits for the request,
 * batch or cron run that uses them. The bundle still holds them: importing a bundled module fetches nothing,
 * it only puts off its evaluation.
 */
export class OnFirstUse<T> {
  #loading: Promise<T> | null = null;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    return (this.#loading ??= this.load());
  }

  get loaded(): boolean {
    return this.#loading !== null;
  }
}

/** The Worker's parts that wait for their first use (test/worker/cold-path.test.ts: a connect loads none). */
export const deferred = {
  adminApi: new OnFirstUse(() => import("./http/admin.js")),
  ingestApi: new OnFirstUse(() => import("./http/ingest.js")),
  eventConsumer: new OnFirstUse(() => import("./queue/consumer.js")),
  webhookConsumer: new OnFirstUse(() => import("./webhooks/consumer.js")),
  cleanup: new OnFirstUse(() => import("./maintenance/cleanup.js")),
};

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
