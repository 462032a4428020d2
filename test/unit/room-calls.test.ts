import { describe, expect, it } from "vitest";
import { serialize } from "node:v8";
import { BATCH_BYTES } from "../../src/rpc-bytes.js";
import { answerBytesBound } from "../../src/socketpot/answer-bounds.js";
import { ASSUMED_USERS_ONLINE, BatchedRoomCalls, MAX_CALLS_PER_BATCH, type RoomCallTransport } from "../../src/shard/room-calls.js";
import type { OrderingBatchAnswer, OrderingCall, OrderingResult } from "../../src/socketpot/ordering.js";

const client = (id: string) => ({ id, shard: 1, session: null, recovery: null });
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A room that answers each batch when the test says, echoing each request's event (or failing it if it says
 * "fail"); with `batches` false, a room on older code, which has no method for batches.
 */
function slowRoom(batches = true) {
  const sent: OrderingCall[][] = [];
  const alone: OrderingCall[] = [];
  const answers: Array<() => void> = [];
  /** The time, the spacing the room asks for, and the waits the shard asked the runtime for. */
  const clock = { now: 1_000_000, spacingMs: 0, waits: [] as number[] };
  const transport: RoomCallTransport = {
    sendBatch: (calls) => {
      if (!batches) return Promise.reject(new TypeError('The RPC receiver does not implement "calls".'));
      sent.push(calls);
      return new Promise<OrderingBatchAnswer>((resolve) =>
        answers.push(() =>
          resolve({
            results: calls.map((call): OrderingResult =>
              call.kind === "request" && call.event === "fail" ? { ok: false, error: "no such thing" } : { ok: true, value: call.kind === "request" ? call.event : null },
            ),
            spacingMs: clock.spacingMs,
            shards: null,
          }),
        ),
      );
    },
    sendOne: async (call) => {
      alone.push(call);
      return call.kind === "request" ? call.event : null;
    },
  };
  const held: Array<Promise<unknown>> = [];
  const runtime = {
    hold: (work: Promise<unknown>) => void held.push(work),
    now: () => clock.now,
    // The wait passes at once, as if that much time had gone by.
    later: (ms: number, task: () => void) => {
      clock.waits.push(ms);
      clock.now += ms;
      setTimeout(task, 0);
      return () => {};
    },
  };
  return { calls: new BatchedRoomCalls(transport, runtime), sent, alone, answers, held, clock };
}

describe("a shard's calls to its room, in batches", () => {
  it("sends what piles up while a batch travels as the next batch: one call at a time, however many clients", async () => {
    const room = slowRoom();
    const answered: unknown[] = [];
    const first = room.calls.request(1, client("a"), "e0", {}).then((value) => answered.push(value));
    await turn();
    expect(room.sent.map((batch) => batch.length)).toEqual([1]);
    // 300 more calls, each in a turn of its own (as each client's frame is), while the first batch is out.
    const rest: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 300; i++) {
      rest.push(room.calls.request(1, client(`c${i}`), `e${i}`, {}).then((value) => answered.push(value)));
      await turn();
    }
    expect(room.sent).toHaveLength(1);
    room.answers.shift()!();
    await first;
    await turn();
    expect(room.sent.map((batch) => batch.length)).toEqual([1, 300]);
    room.answers.shift()!();
    await Promise.all(rest);
    // Each answer went to its own caller, in the order of the calls.
    expect(answered).toEqual(Array.from({ length: 301 }, (_, i) => `e${i}`));
    // The object was held while each batch was out.
    expect(room.held.length).toBeGreaterThanOrEqual(1);
    await Promise.all(room.held);
  });

  it("carries every kind of call, at most MAX_CALLS_PER_BATCH a batch, and fails only the call the room failed", async () => {
    const room = slowRoom();
    const count = room.calls.countConnections(1, 1, { opened: [{ id: "x", ip: "10.0.0.1" }], closed: [] });
    const failing = room.calls.request(1, client("a"), "fail", {}).then(
      () => "served",
      (error: Error) => error.message,
    );
    const recovering = room.calls.recover(1, client("b"), "pid", null);
    const leaving = room.calls.leave(1, client("c"), "transport close");
    const many = Array.from({ length: MAX_CALLS_PER_BATCH + 10 }, (_, i) => room.calls.request(1, client(`m${i}`), `m${i}`, {}));
    await turn();
    expect(room.sent[0]!.map((call) => call.kind).slice(0, 4)).toEqual(["countConnections", "request", "recover", "leave"]);
    room.answers.shift()!();
    await turn();
    expect(room.sent.map((batch) => batch.length)).toEqual([MAX_CALLS_PER_BATCH, 14]);
    room.answers.shift()!();
    expect(await failing).toBe("no such thing");
    await Promise.all([count, recovering, leaving, ...many]);
  });

  it("sizes its batches of auths by the answers' bound: the userlist the room last said it holds (a guess before)", async () => {
    const sent: number[] = [];
    const said = [40_000, 10, 10];
    const transport: RoomCallTransport = {
      sendBatch: async (calls) => {
        sent.push(calls.length);
        return { results: calls.map((): OrderingResult => ({ ok: true, value: "granted" })), spacingMs: 0, shards: null, usersOnline: said.shift() };
      },
      sendOne: async () => null,
    };
    const calls = new BatchedRoomCalls(transport, { hold: () => {}, now: Date.now, later: (_ms, task) => (setTimeout(task, 0), () => {}) });
    const auth = (i: number) => calls.request(1, client(`a${i}`), "auth", { app_id: 1, subscriptions: ["CHAT"] });
    // Before the room has said: ASSUMED_USERS_ONLINE, for which two auth answers fit.
    const first = [auth(0), auth(1), auth(2)];
    await Promise.all(first);
    expect(answerBytesBound({ kind: "request", client: client("x"), event: "auth", payload: {} }, ASSUMED_USERS_ONLINE) * 2).toBeLessThanOrEqual(BATCH_BYTES);
    expect(sent).toEqual([2, 1]);
    // The room says 40,000: the next batch carries one auth; then it says 10: all that wait go together.
    sent.length = 0;
    said.splice(0, said.length, 40_000, 10, 10);
    await auth(3);
    await Promise.all([auth(4), auth(5), auth(6)]);
    expect(sent).toEqual([1, 1, 2]);
  });

  it("carries calls within BATCH_BYTES a batch: a megabyte payload shares a batch with fifteen others, and one larger than the budget goes alone", async () => {
    const room = slowRoom();
    const first = room.calls.request(1, client("a"), "e", {});
    await turn();
    // Two-byte text: V8 writes it at the two bytes a unit the bound counts, so the bound is tight here.
    const big = { text: "\u4e00".repeat(500_000) };
    const queued = Array.from({ length: 20 }, (_, i) => room.calls.request(1, client(`b${i}`), "e", big));
    const huge = room.calls.request(1, client("h"), "e", { text: "x".repeat(BATCH_BYTES) });
    const small = room.calls.request(1, client("s"), "e", {});
    for (let i = 0; i < 8; i++) {
      room.answers.shift()?.();
      await turn();
      await turn();
    }
    await Promise.all([first, ...queued, huge, small]);
    expect(room.sent.map((batch) => batch.length)).toEqual([1, 16, 4, 1, 1]);
    // As V8 writes them (node:v8 is the serializer workerd's RPC uses), every batch of several is within the budget.
    for (const batch of room.sent) if (batch.length > 1) expect(serialize(batch).byteLength).toBeLessThanOrEqual(BATCH_BYTES);
  });

  it("keeps the spacing the room asks for between batches, and carries what piled up meanwhile", async () => {
    const room = slowRoom();
    room.clock.spacingMs = 40;
    const first = room.calls.request(1, client("a"), "a", {});
    await turn();
    room.answers.shift()!();
    await first;
    // The next call comes 10 ms after the first batch went: its batch waits the other 30.
    room.clock.now += 10;
    const second = [room.calls.request(1, client("b"), "b", {}), room.calls.request(1, client("c"), "c", {})];
    await turn();
    await turn();
    expect(room.clock.waits).toEqual([30]);
    expect(room.sent.map((batch) => batch.length)).toEqual([1, 2]);
    room.answers.shift()!();
    await Promise.all(second);
    // A call long after the spacing goes at once.
    room.clock.now += 1_000;
    const third = room.calls.request(1, client("d"), "d", {});
    await turn();
    room.answers.shift()!();
    await third;
    expect(room.clock.waits).toEqual([30]);
  });

  it("fails every call of a batch the room did not answer, and sends the next batch after it", async () => {
    let fail = true;
    const transport: RoomCallTransport = {
      sendBatch: async (calls) => {
        if (fail) throw new Error("the app's room did not answer within 10000 ms");
        return { results: calls.map((): OrderingResult => ({ ok: true, value: "later" })), spacingMs: 0, shards: null };
      },
      sendOne: async () => null,
    };
    const calls = new BatchedRoomCalls(transport, { hold: () => {}, now: Date.now, later: () => () => {} });
    const lost = await Promise.allSettled([calls.request(1, client("a"), "x", {}), calls.leave(1, client("b"), "transport close")]);
    expect(lost.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await calls.request(1, client("a"), "x", {})).toBe("later");
  });

  it("sends each call on its own to a room on older code, which has no method for batches, and tries batches again a minute later", async () => {
    const room = slowRoom(false);
    expect(await Promise.all([room.calls.request(1, client("a"), "one", {}), room.calls.request(1, client("b"), "two", {})])).toEqual(["one", "two"]);
    expect(room.sent).toEqual([]);
    expect(room.alone.map((call) => (call.kind === "request" ? call.event : call.kind))).toEqual(["one", "two"]);
    // Within the minute, straight to the room on their own.
    expect(await room.calls.request(1, client("c"), "three", {})).toBe("three");
    expect(room.alone).toHaveLength(3);
    room.clock.now += 60_000;
    expect(await room.calls.request(1, client("d"), "four", {})).toBe("four");
    expect(room.alone).toHaveLength(4);
  });
});
