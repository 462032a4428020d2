import { describe, expect, it } from "vitest";
import { durableObjectRuntime } from "../../src/deadline.js";
import { ConnectionReporter } from "../../src/shard/connection-reporter.js";
import type { CountedConnections } from "../../src/socketpot/ordering.js";
import { memoryRoom, tokenOf } from "../support/memory-room.js";

/** A Durable Object's state as far as `waitUntil` goes: what it was handed, and whether each has settled. */
function recordingState() {
  const held: Array<{ settled: boolean }> = [];
  const ctx = {
    waitUntil(work: Promise<unknown>) {
      const entry = { settled: false };
      held.push(entry);
      void work.then(() => (entry.settled = true));
    },
  } as unknown as DurableObjectState;
  return { ctx, held };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("work under way after a request is answered", () => {
  it("is held with ctx.waitUntil: a timer until it fires or is cancelled, other work until it settles", async () => {
    const { ctx, held } = recordingState();
    const runtime = durableObjectRuntime(ctx);
    let fired = false;
    runtime.later(20, () => (fired = true));
    const cancel = runtime.later(60_000, () => {});
    expect(held).toHaveLength(2);
    await turn();
    expect(held.map((entry) => entry.settled)).toEqual([false, false]);
    cancel();
    await turn();
    expect(held[1]!.settled).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fired).toBe(true);
    expect(held[0]!.settled).toBe(true);

    // Work that fails is held until it fails, and its failure stays the caller's (waitUntil is not told).
    let fail = (_: Error) => {};
    runtime.hold(new Promise((_, reject) => (fail = reject)));
    await turn();
    expect(held[2]!.settled).toBe(false);
    fail(new Error("gone"));
    await turn();
    expect(held[2]!.settled).toBe(true);
  });

  it("includes the ordering room's feed to a connection shard, held until the shard took it", async () => {
    const { room, host } = memoryRoom();
    const remote = host.connect("tab", 2);
    expect((await room.auth(remote, { app_id: 1, subscriptions: ["DEPOSITS"], access_token: tokenOf(3) })).ok).toBe(true);
    await Promise.all(host.held);
    host.held.length = 0;
    room.chat.balanceChanged({ id: "e1", app_id: 1, type: "unconfirmed_balance_change", auth_id: 3, balance: 1, diff: 1 });
    expect(remote.events("unconfirmed_balance_change")).toEqual([]);
    await turn();
    expect(host.held).toHaveLength(1);
    await host.held[0];
    expect(remote.events("unconfirmed_balance_change")).toEqual([{ balance: 1, diff: 1 }]);
  });

  it("includes a shard's connection report, held until the room counted it", async () => {
    const held: Array<Promise<unknown>> = [];
    let answer = (_: CountedConnections) => {};
    const reporter = new ConnectionReporter(
      { maxConnections: 100, maxConnectionsPerIp: 10 },
      () => new Promise((resolve) => (answer = resolve)),
      () => {},
      {},
      { hold: (work) => void held.push(work) },
    );
    reporter.release("c1", "10.0.0.1");
    await turn();
    expect(held).toHaveLength(1);
    let done = false;
    void held[0]!.then(() => (done = true));
    await turn();
    expect(done).toBe(false);
    answer({ refused: [], total: 0 });
    await held[0];
    expect(done).toBe(true);
  });
});
