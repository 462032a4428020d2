/** Runs `task` after `ms`; the returned function cancels it. */
export type Later = (ms: number, task: () => void) => () => void;

/** {@link Later} on the runtime's timers. */
export const later: Later = (ms, task) => {
  const timer = setTimeout(task, ms);
  return () => clearTimeout(timer);
};

/**
 * Wraps calls so that one not answered within `ms` fails with "`what` did not answer within ms". The timer is
 * cancelled as soon as the call settles: a pending timer would keep a Durable Object awake.
 */
export function deadline(ms: number, what: string, schedule: Later = later): <T>(call: Promise<T>) => Promise<T> {
  return (call) =>
    new Promise((resolve, reject) => {
      const cancel = schedule(ms, () => reject(new Error(`${what} did not answer within ${ms} ms`)));
      call.then(resolve, reject).finally(cancel);
    });
}
