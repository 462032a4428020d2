import { bench, describe } from "vitest";
import { OrderingCore } from "../src/ordering/ordering-core.js";
import type { Runtime } from "../src/deadline.js";
import { WEBHOOK_EVENT_TYPES } from "../src/webhooks/events.js";
import { WebhookOutbox } from "../src/webhooks/outbox.js";
import { connectionGauges, MinuteMetrics, type MeteredConnection } from "../src/metrics/minute-metrics.js";
import { MemoryStore, ROOM_OPTIONS, USERS, tokenOf } from "../test/support/memory-room.js";

/**
 * The ordering room's own work per chat message (validation, rate limit, the store call, the broadcast to each
 * shard's feed), as subscribers grow, for several shard counts. Shards are RPC stand-ins that take a batch and
 * do nothing: what the shards do with it is theirs. The same code runs in the Durable Object; this measures it
 * in Node, where one object's CPU can be told apart from the others'.
 */
const SHARDS = [1, 4, 16, 64];
const SUBSCRIBERS = [1_000, 4_000];

/**
 * A clock whose timers wait until {@link GatheringClock.fire}: the bench fires them every
 * {@link MESSAGES_PER_HANDOVER} messages, so that a room with webhooks hands over what a busy room gathers.
 */
class GatheringClock implements Runtime {
  private readonly tasks = new Set<() => void>();
  now = () => Date.now();
  later = (_ms: number, task: () => void) => {
    this.tasks.add(task);
    return () => void this.tasks.delete(task);
  };
  hold = () => {};
  fire(): void {
    const due = [...this.tasks];
    this.tasks.clear();
    for (const task of due) task();
  }
}
/** What a room receiving 400 messages a second gathers in the outbox's quarter of a second. */
const MESSAGES_PER_HANDOVER = 100;

/** Storage that takes every statement and holds nothing: the counts' flushes cost their calls, not a database's. */
const discardingStorage = { sql: { exec: () => [] }, transactionSync: <T>(work: () => T) => work() } as unknown as DurableObjectStorage;

function orderingRoom(shards: number, subscribers: number, { webhooks = false, counting = false } = {}) {
  const store = new MemoryStore();
  store.addToken(tokenOf(1), 1, USERS.owner);
  // Each shard takes its batch and answers with its activation, as over RPC, and does nothing with it.
  const shard = { receive: async () => "bench", snapshot: () => ({ activation: "bench", sessions: [], pending: [], ips: {} }), end: () => 0 };
  const clock = new GatheringClock();
  // With webhooks, one endpoint takes every type; the Queue takes each batch and does nothing with it.
  const sink = { subscriptions: async () => [{ id: 1, events: [...WEBHOOK_EVENT_TYPES] }], send: async () => {} };
  const outbox = webhooks ? new WebhookOutbox(1, sink, clock) : null;
  const core = new OrderingCore(1, store, { ...ROOM_OPTIONS, chatRateBurst: 1e9, chatRatePerSecond: 1e9 }, () => shard, null, clock, {
    webhooks: outbox,
    counts: counting ? new MinuteMetrics(discardingStorage, clock, () => ({})) : null,
  });
  for (let index = 0; index < subscribers; index++) {
    const user = { uname: `user${index}`, auth_id: 1_000 + index, role: "MEMBER" as const };
    core.chat.directory.set(`client-${index}`, 1 + (index % shards), { user, subscriptions: ["CHAT"] });
  }
  const sender = { id: "sender", shard: 1, session: { user: USERS.owner, subscriptions: ["CHAT" as const] }, recovery: null };
  return { core, sender, store, clock };
}

describe("ordering room: one chat message", () => {
  for (const shards of SHARDS) {
    for (const subscribers of SUBSCRIBERS) {
      // Each case builds its room when it starts, so that no case runs amid another's garbage.
      let room: ReturnType<typeof orderingRoom> | null = null;
      let sent = 0;
      bench(
        `${shards} shards, ${subscribers} subscribers`,
        async () => {
          room ??= orderingRoom(shards, subscribers);
          const outcome = await room.core.request(room.sender, "new_message", { text: `message ${sent++}` });
          if (!outcome.ok) throw new Error(outcome.reason);
        },
        // A finished case lets its room go, so that later cases do not run amid its garbage.
        { time: 1_000, warmupTime: 500, warmupIterations: 1_000, teardown: () => void (room = null) },
      );
    }
  }
});

describe("ordering room: one chat message, webhooks off and on", () => {
  for (const webhooks of [false, true]) {
    let room: ReturnType<typeof orderingRoom> | null = null;
    let sent = 0;
    bench(
      `webhooks ${webhooks ? "on" : "off"}, 4 shards, 1000 subscribers`,
      async () => {
        room ??= orderingRoom(4, 1_000, { webhooks });
        const outcome = await room.core.request(room.sender, "new_message", { text: `message ${sent++}` });
        if (!outcome.ok) throw new Error(outcome.reason);
        if (sent % MESSAGES_PER_HANDOVER === 0) {
          room.clock.fire();
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
      { time: 2_000, warmupTime: 500, warmupIterations: 1_000, teardown: () => void (room = null) },
    );
  }
});

describe("ordering room: one auth and leave, counting off and on", () => {
  for (const counting of [false, true]) {
    let room: ReturnType<typeof orderingRoom> | null = null;
    let connected = 0;
    bench(
      `auth, counting ${counting ? "on" : "off"}, 4 shards, 1000 subscribers`,
      async () => {
        room ??= orderingRoom(4, 1_000, { counting });
        const client = { id: `bench-${connected++}`, shard: 1 + (connected % 4), session: null, recovery: null };
        const outcome = await room.core.request(client, "auth", { app_id: 1, access_token: tokenOf(1), subscriptions: ["BETS"] });
        if (!outcome.ok || !outcome.granted) throw new Error("auth failed");
        await room.core.leave({ ...client, session: outcome.granted.session }, "transport close");
        if (connected % 100 === 0) room.clock.fire();
      },
      { time: 2_000, warmupTime: 500, warmupIterations: 1_000, teardown: () => void (room = null) },
    );
  }
});

/** The connections a shard at its planned size holds (SHARD_TARGET_CONNECTIONS), of every kind. */
const HELD: MeteredConnection[] = Array.from({ length: 5_000 }, (_, index) => ({
  transport: { kind: index % 10 === 0 ? "polling" : "websocket" },
  state: { stack: index % 3 === 0 ? "plain" : "socket.io", engine: { protocol: index % 7 === 0 ? 3 : 4 } },
}));

describe("an object's metering of one connect, off and on", () => {
  for (const counting of [false, true]) {
    let connects = 0;
    const clock = new GatheringClock();
    const meter = counting ? new MinuteMetrics(discardingStorage, clock, () => connectionGauges(HELD)) : null;
    bench(
      `connect, counting ${counting ? "on" : "off"}, 5000 connections held`,
      () => {
        connects += 1;
        meter?.count("connects");
        // A flush (which samples the gauges over every connection held) every 100 connects, as an object taking
        // 100 connects a second flushes every second.
        if (connects % 100 === 0) clock.fire();
      },
      { time: 2_000, warmupTime: 500, warmupIterations: 1_000 },
    );
  }
});

describe("ordering room: one chat message, counting off and on", () => {
  for (const counting of [false, true]) {
    let room: ReturnType<typeof orderingRoom> | null = null;
    let sent = 0;
    bench(
      `counting ${counting ? "on" : "off"}, 4 shards, 1000 subscribers`,
      async () => {
        room ??= orderingRoom(4, 1_000, { counting });
        const outcome = await room.core.request(room.sender, "new_message", { text: `message ${sent++}` });
        if (!outcome.ok) throw new Error(outcome.reason);
        // A flush every 100 messages, as a room taking 100 messages a second flushes every second.
        if (sent % 100 === 0) room.clock.fire();
      },
      { time: 2_000, warmupTime: 500, warmupIterations: 1_000, teardown: () => void (room = null) },
    );
  }
});
