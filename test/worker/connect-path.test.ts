import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Connection } from "../../src/shard/connection.js";
import { openSocket, token, appRoom } from "./room-socket.js";

/**
 * What keeps connecting cheap: on a warm room, nothing between the upgrade and the auth answer writes to the
 * object's storage, so no answer waits behind the output gate for a commit. The room's storage calls are
 * counted on the real storage (each call still goes through). The exception, by design: an auth that makes a
 * user present broadcasts `user_joined`, and a broadcast is logged for connection state recovery before it
 * goes out (docs/benchmarks.md says what that costs).
 */
describe("the connect path", () => {
  it("writes nothing to the room's storage from the upgrade to the auth answer of a user already present", async () => {
    const warm = await openSocket();
    expect((await warm.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT"] }))[0]).toBeNull();
    // The first auth's session reaches storage a second later: that write is not on any answer's path.
    await new Promise((resolve) => setTimeout(resolve, 1_200));

    const writes: string[] = [];
    const restore = await runInDurableObject(appRoom(1), (_, state) => {
      const { storage } = state;
      const { sql } = storage;
      const exec = sql.exec.bind(sql);
      const setAlarm = storage.setAlarm.bind(storage);
      const put = storage.put.bind(storage);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (!/^\s*SELECT/i.test(query)) writes.push(query.trim().split(/\s+/).slice(0, 3).join(" "));
        return exec(query, ...bindings);
      }) as typeof sql.exec;
      storage.setAlarm = ((...args: Parameters<typeof storage.setAlarm>) => (writes.push("setAlarm"), setAlarm(...args))) as typeof storage.setAlarm;
      storage.put = ((...args: unknown[]) => (writes.push("put"), (put as (...args: unknown[]) => unknown)(...args))) as typeof storage.put;
      return () => {
        sql.exec = exec;
        storage.setAlarm = setAlarm;
        storage.put = put;
      };
    });
    try {
      const next = await openSocket();
      expect((await next.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT", "DEPOSITS"] }))[0]).toBeNull();
      expect(writes).toEqual([]);
      // A user who was not present: its user_joined is logged before it goes out.
      const newcomer = await openSocket();
      expect((await newcomer.request(1, "auth", { app_id: 1, access_token: token(4), subscriptions: ["CHAT"] }))[0]).toBeNull();
      expect(writes).toEqual(["INSERT INTO recovery_events"]);
      await newcomer.close();
      await next.close();
    } finally {
      await runInDurableObject(appRoom(1), () => restore());
    }
    await warm.close();
  });

  it("saves no connection's attachment at an alarm that has nothing due for it, and saves the one that has", async () => {
    const sockets = [await openSocket(), await openSocket()];
    const saves = await runInDurableObject(appRoom(1), async (instance) => {
      const prototype = WebSocket.prototype as { serializeAttachment(value: unknown): void };
      const serialize = prototype.serializeAttachment;
      let count = 0;
      prototype.serializeAttachment = function (this: WebSocket, value: unknown) {
        count += 1;
        serialize.call(this, value);
      };
      try {
        await instance.alarm();
        const idle = count;
        // The control: one connection's ping falls due, and the same count sees its save.
        const [due] = (instance as unknown as { connections(): Iterable<Connection> }).connections();
        due!.state.engine.lastPingAt = 0;
        await instance.alarm();
        return { idle, due: count - idle };
      } finally {
        prototype.serializeAttachment = serialize;
      }
    });
    expect(saves).toEqual({ idle: 0, due: 1 });
    for (const socket of sockets) await socket.close();
  });
});
