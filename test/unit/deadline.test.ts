import { describe, expect, it } from "vitest";
import { deadline, type Clock } from "../../src/deadline.js";

/** A clock the test moves, counting the timers set on it. */
function testClock() {
  let now = 0;
  let scheduled: Array<{ at: number; task: () => void }> = [];
  const clock: Clock & { timers: number; advance(ms: number): void } = {
    timers: 0,
    now: () => now,
    later: (ms, task) => {
      clock.timers += 1;
      scheduled.push({ at: now + ms, task });
      return () => {};
    },
    advance(ms) {
      now += ms;
      const due = scheduled.filter((entry) => entry.at <= now);
      scheduled = scheduled.filter((entry) => entry.at > now);
      for (const { task } of due) task();
    },
  };
  return clock;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("deadline", () => {
  it("fails each call its allowance after it began, with one timer for all of them", async () => {
    const clock = testClock();
    const timed = deadline(1_000, "the room", clock);
    const outcomes: string[] = [];
    const track = (name: string, call: Promise<unknown>) => timed(call).then(() => outcomes.push(`${name} answered`), (error: Error) => outcomes.push(`${name}: ${error.message}`));

    let answer = () => {};
    track("first", new Promise(() => {}));
    clock.advance(100);
    track("second", new Promise<void>((resolve) => (answer = resolve)));
    clock.advance(100);
    track("third", new Promise(() => {}));
    expect(clock.timers).toBe(1);

    answer();
    await settle();
    clock.advance(800);
    await settle();
    expect(outcomes).toEqual(["second answered", "first: the room did not answer within 1000 ms"]);
    clock.advance(199);
    await settle();
    expect(outcomes).toHaveLength(2);
    clock.advance(1);
    await settle();
    expect(outcomes).toEqual(["second answered", "first: the room did not answer within 1000 ms", "third: the room did not answer within 1000 ms"]);
    expect(clock.timers).toBe(2);
  });

  it("sets no further timer once every call has answered", async () => {
    const clock = testClock();
    const timed = deadline(1_000, "storage", clock);
    expect(await timed(Promise.resolve("ok"))).toBe("ok");
    await expect(timed(Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    clock.advance(1_000);
    clock.advance(5_000);
    expect(clock.timers).toBe(1);
    // A call after the timer ran arms a new one.
    void timed(new Promise(() => {})).catch(() => {});
    expect(clock.timers).toBe(2);
  });
});
