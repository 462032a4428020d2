import { describe, expect, it } from "vitest";
import { serialize } from "node:v8";
import { BATCH_BYTES } from "../../src/rpc-bytes.js";
import { BetSampler } from "../../src/socketpot/bet-sampler.js";
import { memoryRoom, tokenOf } from "../support/memory-room.js";
import type { MemoryApp, RecordingClient } from "../support/memory-room.js";

async function subscribe(room: MemoryApp, client: RecordingClient, authId: number | null, subscriptions: string[]) {
  const outcome = await room.auth(client, { app_id: 1, subscriptions, ...(authId ? { access_token: tokenOf(authId) } : {}) });
  expect(outcome.ok).toBe(true);
}

const bet = (id: number, wager: number, profit: number) => ({ id, uname: "bob", wager, profit });

describe("balance changes", () => {
  it("reach every DEPOSITS connection of that user and nobody else", async () => {
    const { room, host } = memoryRoom();
    const tab1 = host.connect("a1");
    const tab2 = host.connect("a2");
    const chatOnly = host.connect("a3");
    const other = host.connect("b");
    await subscribe(room, tab1, 3, ["DEPOSITS"]);
    await subscribe(room, tab2, 3, ["CHAT", "DEPOSITS"]);
    await subscribe(room, chatOnly, 3, ["CHAT"]);
    await subscribe(room, other, 4, ["DEPOSITS"]);
    room.chat.balanceChanged({ id: "e1", app_id: 1, type: "unconfirmed_balance_change", auth_id: 3, balance: 5000, diff: 5000 });
    for (const tab of [tab1, tab2]) expect(tab.events("unconfirmed_balance_change")).toEqual([{ balance: 5000, diff: 5000 }]);
    expect(chatOnly.received.filter((entry) => entry.event !== "user_joined")).toEqual([]);
    expect(other.received).toEqual([]);
  });

  it("reach the user's connections on every shard, and go to no other shard", async () => {
    const { room, host } = memoryRoom();
    const here = host.connect("a1", 1);
    const there = host.connect("a2", 3);
    const otherShard = host.connect("b", 2);
    await subscribe(room, here, 3, ["DEPOSITS"]);
    await subscribe(room, there, 3, ["DEPOSITS", "CHAT"]);
    await subscribe(room, otherShard, 4, ["DEPOSITS", "CHAT"]);
    expect([...room.chat.directory.shards({ feed: "DEPOSITS", authId: 3 })].sort()).toEqual([1, 3]);
    room.chat.balanceChanged({ id: "e3", app_id: 1, type: "unconfirmed_balance_change", auth_id: 3, balance: 1, diff: 1 });
    // A connection shard's feed goes at the end of the turn.
    await Promise.resolve();
    for (const tab of [here, there]) expect(tab.events("unconfirmed_balance_change")).toEqual([{ balance: 1, diff: 1 }]);
    expect(otherShard.events("unconfirmed_balance_change")).toEqual([]);
  });

  it("send a confirmed change as balance_change and confirmed_deposit_change", async () => {
    const { room, host } = memoryRoom();
    const tab = host.connect("a1");
    await subscribe(room, tab, 3, ["DEPOSITS"]);
    room.chat.balanceChanged({ id: "e2", app_id: 1, type: "balance_change", auth_id: 3, balance: 7000, diff: -300 });
    expect(tab.received).toEqual([
      { event: "balance_change", payload: { balance: 7000, diff: -300 } },
      { event: "confirmed_deposit_change", payload: { balance: 7000, diff: -300 } },
    ]);
  });
});

describe("bets", () => {
  it("go to BETS subscribers once a second, the most interesting first, capped", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w");
    const chatter = host.connect("c");
    await subscribe(room, watcher, null, ["BETS"]);
    await subscribe(room, chatter, null, ["CHAT"]);
    for (const placed of [bet(1, 100, 5), bet(2, 100, -900), bet(3, 5000, 20), bet(4, 9000, 20), bet(5, 1, 1)]) room.chat.betPlaced(placed);
    expect(watcher.events("new_bet")).toEqual([]);
    host.advance(1_000);
    expect(watcher.events("new_bet")).toEqual([bet(2, 100, -900), bet(4, 9000, 20), bet(3, 5000, 20)]);
    expect(chatter.events("new_bet")).toEqual([]);
    room.chat.betPlaced(bet(6, 1, 1));
    host.advance(1_000);
    expect(watcher.events("new_bet")).toHaveLength(4);
  });

  it("keep memory bounded under a flood and still pick the best", () => {
    const sampler = new BetSampler(10);
    for (let i = 0; i < 100_000; i++) sampler.add(bet(i, i % 1000, (i * 7919) % 100_003));
    const chosen = sampler.take();
    expect(chosen).toHaveLength(10);
    expect(chosen.map((b) => b.profit)).toEqual([...chosen.map((b) => b.profit)].sort((a, b) => b - a));
    expect(chosen[0]?.profit).toBe(100_002);
  });
});

describe("a connection shard's feed", () => {
  it("goes in batches that fit in one RPC: broadcasts that piled up while one travelled are split within BATCH_BYTES", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("w", 1);
    await subscribe(room, watcher, 3, ["CHAT"]);
    let release = () => {};
    room.deliveriesHeld = new Promise((resolve) => (release = resolve));
    // Two-byte text: V8 writes it at the two bytes a unit the bound counts.
    const text = "\u4e00".repeat(1_000_000);
    for (let i = 0; i < 40; i++) room.core.broadcast({ feed: "CHAT" }, "new_message", { id: i, text });
    release();
    room.deliveriesHeld = null;
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    const batches = room.deliveries.filter((delivery) => delivery.items.some((item) => item.event === "new_message"));
    expect(batches.map((batch) => batch.items.length)).toEqual([8, 8, 8, 8, 8]);
    // As V8 writes them (node:v8 is the serializer workerd's RPC uses).
    for (const { items } of batches) expect(serialize(items).byteLength).toBeLessThanOrEqual(BATCH_BYTES);
    expect(watcher.events("new_message").map((message) => (message as { id: number }).id)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});
