import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { EventDedup } from "../../src/ordering/event-dedup.js";
import { describe, expect, it } from "vitest";
import { roomOf } from "../../src/shards.js";
import type { AppRoom } from "../../src/ordering/app-room.js";
import { openSocket, token } from "./room-socket.js";

/** A room socket authenticated as `authId` with DEPOSITS; `deposits()` waits for the next `count` deposit events. */
async function depositsSocket(authId: number) {
  const socket = await openSocket();
  const [error] = await socket.request(1, "auth", { app_id: 1, access_token: token(authId), subscriptions: ["DEPOSITS"] });
  expect(error).toBeNull();
  const deposits = async (count: number) => {
    const events = [];
    for (let i = 0; i < count; i++) events.push(await socket.nextEvent("unconfirmed_balance_change"));
    return events;
  };
  return { close: socket.close, deposits };
}

const deposit = (id: string, diff: number) => ({ id, app_id: 1, type: "unconfirmed_balance_change", auth_id: 3, balance: 1000 + diff, diff });

describe("the Queue consumer, through the real local queue", () => {
  it("acknowledges malformed messages and still delivers the rest of their batch", async () => {
    const alice = await depositsSocket(3);
    await env.EVENTS.sendBatch([
      { body: { id: "broken-1", type: "new_bet" } },
      { body: "not an event at all" },
      { body: deposit("good-1", 10) },
      { body: { id: "broken-2", app_id: 1, type: "balance_change", auth_id: 3, balance: -5, diff: 1 } },
      { body: deposit("good-2", 20) },
    ]);
    expect(await alice.deposits(2)).toEqual([
      ["unconfirmed_balance_change", { balance: 1010, diff: 10 }],
      ["unconfirmed_balance_change", { balance: 1020, diff: 20 }],
    ]);
    await alice.close("done");
  });

  it("retries a batch whose delivery failed, then delivers it once", async () => {
    const alice = await depositsSocket(3);
    const room = roomOf(env, 1);
    await runInDurableObject(room, (instance: AppRoom) => {
      instance.failNextDeliveries = 1;
    });
    await env.EVENTS.send(deposit("retried-1", 30));
    expect(await alice.deposits(1)).toEqual([["unconfirmed_balance_change", { balance: 1030, diff: 30 }]]);
    expect(await runInDurableObject(room, (instance: AppRoom) => instance.failNextDeliveries)).toBe(0);
    await alice.close("done");
  });
});

describe("event de-duplication", () => {
  it("remembers delivered ids across an eviction of the room", async () => {
    const room = roomOf(env, 1);
    const event = { id: "evicted-1", app_id: 1, type: "unconfirmed_balance_change" as const, auth_id: 3, balance: 1, diff: 1 };
    expect(await room.deliver([event, event])).toBe(1);
    await evictDurableObject(room);
    expect(await room.deliver([event])).toBe(0);
  });

  it("keeps a bounded window: old ids are forgotten, recent ones remembered", async () => {
    const scratch = env.ROOMS.get(env.ROOMS.idFromName("dedup-window-test"));
    await runInDurableObject(scratch, (_instance: AppRoom, state) => {
      const dedup = new EventDedup(state.storage.sql, 10);
      for (let i = 0; i < 100; i++) expect(dedup.remember(`id-${i}`)).toBe(true);
      const kept = state.storage.sql.exec("SELECT count(*) AS n FROM delivered_events").one()["n"] as number;
      expect(kept).toBeLessThanOrEqual(11);
      expect(dedup.remember("id-99")).toBe(false);
      expect(dedup.remember("id-0")).toBe(true);
    });
  });
});
