import { SELF, env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { EventDedup } from "../../src/room/event-dedup.js";
import { describe, expect, it } from "vitest";
import { roomName } from "../../src/http/room-name.js";
import type { AppRoom } from "../../src/room/app-room.js";

const token = (authId: number) => `00000000-0000-4000-8000-${String(authId).padStart(12, "0")}`;

/** A WebSocket into app 1's room, authenticated as `authId` with DEPOSITS; records the events it receives. */
async function depositsSocket(authId: number) {
  const response = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=websocket&app_id=1", { headers: { Upgrade: "websocket" } });
  const ws = response.webSocket;
  if (!ws) throw new Error("no WebSocket");
  const events: unknown[][] = [];
  const frames: string[] = [];
  ws.addEventListener("message", (event) => {
    const frame = String(event.data);
    frames.push(frame);
    if (frame.startsWith("42")) events.push(JSON.parse(frame.slice(2)) as unknown[]);
  });
  ws.accept();
  const until = async (check: () => boolean, what: string, timeoutMs = 8_000) => {
    for (const deadline = Date.now() + timeoutMs; !check(); ) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await until(() => frames.some((frame) => frame.startsWith("0{")), "open");
  ws.send("40");
  await until(() => frames.some((frame) => frame.startsWith("40{")), "connect");
  ws.send(`421${JSON.stringify(["auth", { app_id: 1, access_token: token(authId), subscriptions: ["DEPOSITS"] }])}`);
  await until(() => frames.some((frame) => frame.startsWith("431[null")), "auth");
  return { ws, events, until };
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
    await alice.until(() => alice.events.length >= 2, "two deposits");
    expect(alice.events).toEqual([
      ["unconfirmed_balance_change", { balance: 1010, diff: 10 }],
      ["unconfirmed_balance_change", { balance: 1020, diff: 20 }],
    ]);
    alice.ws.close(1000, "done");
  });

  it("retries a batch whose delivery failed, then delivers it once", async () => {
    const alice = await depositsSocket(3);
    const room = env.ROOMS.get(env.ROOMS.idFromName(roomName(1)));
    await runInDurableObject(room, (instance: AppRoom) => {
      instance.failNextDeliveries = 1;
    });
    await env.EVENTS.send(deposit("retried-1", 30));
    await alice.until(() => alice.events.length >= 1, "the retried deposit", 15_000);
    expect(alice.events).toEqual([["unconfirmed_balance_change", { balance: 1030, diff: 30 }]]);
    expect(await runInDurableObject(room, (instance: AppRoom) => instance.failNextDeliveries)).toBe(0);
    alice.ws.close(1000, "done");
  });
});

describe("event de-duplication", () => {
  it("remembers delivered ids across an eviction of the room", async () => {
    const room = env.ROOMS.get(env.ROOMS.idFromName(roomName(1)));
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
