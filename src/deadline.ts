/** Runs `task` after `ms`; the returned function cancels it. */
export type Later = (ms: number, task: () => void) => () => void;

/** A clock: what time it is, and how to run something later. */
export interface Clock {
  now(): number;
  later: Later;
}

/** {@link Clock} on the runtime's time and timers. */
export const runtimeClock: Clock = {
  now: Date.now,
  later: (ms, task) => {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  },
};

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
