import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openSocket, token } from "./room-socket.js";

/** Real D1 failures (the table is taken away under the running room), not mocks. */
describe("D1 failures", () => {
  it("answer INTERNAL_ERROR, broadcast nothing, lose nothing stored, and the room keeps serving", async () => {
    const alice = await openSocket();
    const watcher = await openSocket();
    expect((await alice.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT"] }))[0]).toBeNull();
    expect((await watcher.request(1, "auth", { app_id: 1, subscriptions: ["CHAT"] }))[0]).toBeNull();
    const [, kept] = (await alice.request(2, "new_message", { text: "stored before the outage" })) as [null, { id: number }];
    await watcher.nextFrame('42["new_message"');

    await env.DB.exec("ALTER TABLE messages RENAME TO messages_away");
    try {
      expect(await alice.request(3, "new_message", { text: "during the outage" })).toEqual(["INTERNAL_ERROR"]);
    } finally {
      await env.DB.exec("ALTER TABLE messages_away RENAME TO messages");
    }
    const [error, after] = (await alice.request(4, "new_message", { text: "after the outage" })) as [null, { id: number; text: string }];
    expect(error).toBeNull();
    const heard = JSON.parse((await watcher.nextFrame('42["new_message"')).slice(2)) as [string, { text: string }];
    expect(heard[1].text).toBe("after the outage");

    const { results } = await env.DB.prepare("SELECT id, text FROM messages WHERE id >= ? ORDER BY id").bind(kept.id).all();
    expect(results).toEqual([
      { id: kept.id, text: "stored before the outage" },
      { id: after.id, text: "after the outage" },
    ]);
    await alice.close("done");
    await watcher.close("done");
  });
});
