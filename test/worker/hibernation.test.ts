import { env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openSocket, token, appRoom } from "./room-socket.js";

const room = () => appRoom(1);

describe("hibernation", () => {
  it("keeps sessions, presence and broadcasts working after the Durable Object is evicted", async () => {
    const alice = await openSocket();
    const watcher = await openSocket();
    expect((await alice.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT"] }))[0]).toBeNull();
    expect((await watcher.request(1, "auth", { app_id: 1, subscriptions: ["CHAT"] }))[0]).toBeNull();

    await evictDurableObject(room());

    const [error, message] = await alice.request(2, "new_message", { text: "after hibernation" });
    expect(error).toBeNull();
    expect(message).toMatchObject({ text: "after hibernation", user: { uname: "alice" } });
    expect(await watcher.nextEvent("new_message")).toEqual(["new_message", message]);

    await evictDurableObject(room());
    const late = await openSocket();
    const [, response] = await late.request(1, "auth", { app_id: 1, access_token: token(4), subscriptions: ["CHAT"] });
    expect((response as { chat: { userlist: Record<string, unknown> } }).chat.userlist).toEqual({
      alice: { uname: "alice", auth_id: 3, role: "MEMBER" },
      bob: { uname: "bob", auth_id: 4, role: "MEMBER" },
    });

    await evictDurableObject(room());
    await alice.close("bye");
    expect(await watcher.nextEvent("user_left")).toEqual(["user_left", { uname: "alice" }]);
    for (const socket of [watcher, late]) await socket.close("done");
  });
});
