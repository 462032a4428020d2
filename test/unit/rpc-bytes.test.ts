import { serialize } from "node:v8";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunksBySize } from "../../src/chunks.js";
import { RPC_SERIALIZED_BYTES } from "../../src/limits.js";
import { MESSAGE_BYTES, USERLIST_ENTRY_BYTES } from "../../src/socketpot/answer-bounds.js";
import { BATCH_BYTES, serializedBytesBound } from "../../src/rpc-bytes.js";
import { BatchedRoomCalls, MAX_CALLS_PER_BATCH, type RoomCallTransport } from "../../src/shard/room-calls.js";
import type { OrderingCall } from "../../src/socketpot/ordering.js";
import { HISTORY_LENGTH } from "../../src/socketpot/room.js";
import { MAX_TEXT_LENGTH, MAX_UNAME_LENGTH, type User } from "../../src/socketpot/schemas.js";

/*
 * Node's `v8.serialize` is V8's ValueSerializer, the serialization workerd's RPC carries values in, so the
 * bytes measured here are the bytes an RPC between two objects would carry.
 */
const measured = (value: unknown) => serialize(value).byteLength;

describe("serializedBytesBound: what a value takes in one RPC, never under the truth", () => {
  it("is at least V8's own count for any JSON value, with text of every plane", () => {
    const text = fc.string({ unit: "binary", maxLength: 200 });
    const value = fc.jsonValue({ maxDepth: 6, stringUnit: "binary" });
    fc.assert(
      fc.property(fc.oneof(value, fc.dictionary(text, value), fc.array(fc.oneof(text, fc.double(), fc.integer()))), (item) => {
        expect(serializedBytesBound(item)).toBeGreaterThanOrEqual(measured(item));
      }),
      { numRuns: 500 },
    );
  });

  it("counts binary data as socket.io's binary packets give it, a view with its whole buffer", () => {
    const buffer = new ArrayBuffer(100_000);
    for (const item of [buffer, new Uint8Array(buffer, 10, 5), { file: new Uint8Array(buffer).subarray(0, 1), rest: [buffer] }]) {
      expect(serializedBytesBound(item)).toBeGreaterThanOrEqual(measured(item));
    }
  });

  it("walks a payload nested 100,000 deep without overflowing the stack", () => {
    const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`) as unknown;
    expect(serializedBytesBound(deep)).toBeGreaterThan(100_000);
  });
});

const wide = (length: number) => "\u4e00".repeat(length);
const users = (count: number): User[] =>
  Array.from({ length: count }, (_, i) => ({ uname: `${wide(MAX_UNAME_LENGTH - 8)}${String(i).padStart(8, "0")}`, auth_id: Number.MAX_SAFE_INTEGER - i, role: "MEMBER" }));

/**
 * The room's answer to an auth at its largest: the whole history of the longest messages, and every user online
 * in the userlist; each answer's objects its own, as V8 would write shared ones only once.
 */
function largestAuthAnswer(online: User[]) {
  const text = wide(2 * MAX_TEXT_LENGTH);
  const messages = Array.from({ length: HISTORY_LENGTH }, (_, i) => ({
    id: Number.MAX_SAFE_INTEGER - i,
    channel: wide(40),
    text,
    created_at: new Date().toISOString(),
    user: { ...online[0]! },
  }));
  const userlist = Object.fromEntries(online.map((user) => [user.uname, { ...user }]));
  return {
    ok: true as const,
    value: { ok: true, value: { user: { ...online[0]! }, chat: { messages, userlist }, subscriptions: ["CHAT", "DEPOSITS", "BETS"] } },
  };
}

describe("a batch between a shard and its room fits in one RPC both ways", () => {
  it("bounds one message and one userlist entry at least as V8 writes them", () => {
    const [user] = users(1);
    expect(MESSAGE_BYTES).toBeGreaterThanOrEqual(measured(largestAuthAnswer([user!]).value.value.chat.messages[0]));
    expect(USERLIST_ENTRY_BYTES).toBeGreaterThanOrEqual(measured({ [user!.uname]: user }));
  });

  it("sends auths, with 2,000 users online, in batches whose answers V8 writes within 32 MiB; batches three times as large would not fit", async () => {
    const online = users(2_000);
    const answerBytes: number[] = [];
    const transport: RoomCallTransport = {
      sendBatch: async (calls) => {
        const answer = { results: calls.map(() => largestAuthAnswer(online)), spacingMs: 250, shards: 64, usersOnline: online.length };
        answerBytes.push(measured(answer));
        return answer;
      },
      sendOne: async () => null,
    };
    const shard = new BatchedRoomCalls(transport, { hold: () => {}, now: Date.now, later: (_ms, task) => (setTimeout(task, 0), () => {}) });
    const auth = (i: number) => shard.request(1, { id: `c${i}`, shard: 1, session: null, recovery: null }, "auth", { app_id: 1, subscriptions: ["CHAT"] });
    // The first batch goes before the room has said how many users it holds; the rest after.
    await auth(0);
    await Promise.all(Array.from({ length: 200 }, (_, i) => auth(1 + i)));
    const largest = Math.max(...answerBytes);
    expect(largest).toBeLessThanOrEqual(RPC_SERIALIZED_BYTES);
    const batch = Math.round(largest / measured({ results: [largestAuthAnswer(online)] }));
    expect(batch).toBeGreaterThan(1);
    expect(measured({ results: Array.from({ length: 3 * batch }, () => largestAuthAnswer(online)) })).toBeGreaterThan(RPC_SERIALIZED_BYTES);
  });

  it("carries requests of a megabyte each in batches within BATCH_BYTES as V8 writes them", () => {
    const payload = { text: "\u4e00".repeat(500_000) };
    const calls = Array.from({ length: 60 }, (_, i): OrderingCall => ({ kind: "request", client: { id: `c${i}`, shard: 1, session: null, recovery: null }, event: "new_message", payload }));
    const batches = chunksBySize(calls, calls.map(serializedBytesBound), BATCH_BYTES, MAX_CALLS_PER_BATCH);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(measured(batch.map((call) => ({ ...call, payload: { text: "\u4e00".repeat(500_000) } })))).toBeLessThanOrEqual(BATCH_BYTES);
  });
});
