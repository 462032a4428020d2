/** Runs `task` after `ms`; the returned function cancels it. */
export type Later = (ms: number, task: () => void) => () => void;

/** A clock: what time it is, and how to run something later. */
export interface Clock {
  now(): number;
  later: Later;
}

/**
 * A {@link Clock} that can also keep its host running for work still under way after the request that started
 * it was answered: a feed on its way to a shard, a connection report, a timer (the bet window, the recovery
 * write, a deadline).
 */
export interface Runtime extends Clock {
  hold(work: Promise<unknown>): void;
}

/** {@link Runtime} on the runtime's time and timers, holding nothing: for code that runs outside a Durable Object. */
export const runtimeClock: Runtime = {
  now: Date.now,
  later: (ms, task) => {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  },
  hold: () => {},
};

/**
 * The {@link Runtime} of a Durable Object: each timer, and each piece of work handed to `hold`, is passed to
 * `ctx.waitUntil` until it settles (a timer until it fires or is cancelled). From compatibility date
 * 2026-10-01 (flag `durable_object_io_tasks_prevent_eviction`) that keeps an object with no client in
 * memory until the work is done, for up to 15 minutes; before it, nothing does. The timers held here are short
 * (a second, or a deadline's `STORAGE_TIMEOUT_MS`) and the calls last as long as the other object takes to
 * answer, while an object with a pending timer is given 70 s or more before it is evicted (docs/limits.md).
 */
export function durableObjectRuntime(ctx: DurableObjectState): Runtime {
  const hold = (work: Promise<unknown>) => ctx.waitUntil(work.catch(() => {}));
  return {
    now: Date.now,
    later: (ms, task) => {
      let settle = () => {};
      hold(new Promise<void>((resolve) => (settle = resolve)));
      const timer = setTimeout(() => {
        settle();
        task();
      }, ms);
      return () => {
        clearTimeout(timer);
        settle();
      };
    },
    hold,
  };
}

/**
 * Wraps calls so that one not answered within `ms` fails with "`what` did not answer within ms". Every call
 * gets the same allowance, so the oldest call still pending is always the next one due: a single timer, armed
 * for it, serves them all, where a timer set and cleared per call cost more than a shard's own work on a
 * request (clearing one took ~40 µs in workerd). The timer outlives the last call by at most `ms`, which is
 * as long as that call could have kept the Durable Object awake anyway.
 */
export function deadline(ms: number, what: string, clock: Clock = runtimeClock): <T>(call: Promise<T>) => Promise<T> {
  /** Calls not settled yet, oldest first (a Set iterates in insertion order). */
  const pending = new Set<{ due: number; fail: (error: Error) => void }>();
  let armed = false;
  const arm = (delay: number) => {
    armed = true;
    clock.later(delay, expire);
  };
  const expire = () => {
    armed = false;
    const now = clock.now();
    for (const call of pending) {
      if (call.due > now) return arm(call.due - now);
      pending.delete(call);
      call.fail(new Error(`${what} did not answer within ${ms} ms`));
    }
  };
  return (call) =>
    new Promise((resolve, reject) => {
      const entry = { due: clock.now() + ms, fail: reject };
      pending.add(entry);
      if (!armed) arm(ms);
      call.then(resolve, reject).finally(() => pending.delete(entry));
    });
}
