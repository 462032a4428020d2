import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, join, next, record, request, type Joined } from "../support/clients.js";
import { adminCall } from "../support/http.js";
import { demoUser, localSecret, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

let adminToken: string;

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken });
});

afterAll(async () => {
  await server?.stop();
});

describe("moderation", () => {
  it("applies role rules, stores mutes that survive a server restart, and lifts them", async () => {
    const [owner, mod, alice, bob] = await Promise.all(["owner", "mod", "alice", "bob"].map((uname) => join(server.url, uname)));
    const everyone = [owner, mod, alice, bob] as Joined[];

    expect(await request(mod!.socket, "new_message", { text: "/mute owner" })).toEqual(["FORBIDDEN"]);
    expect(await request(alice!.socket, "new_message", { text: "/mute bob" })).toEqual(["FORBIDDEN"]);
    expect(await request(mod!.socket, "new_message", { text: "/mute alice forever" })).toEqual(["INVALID_COMMAND"]);
    expect(await request(mod!.socket, "new_message", { text: "/mute nobody_here" })).toEqual(["INVALID_COMMAND"]);

    const bobHears = next(bob!.socket, "new_message");
    const [error, system] = await request(mod!.socket, "new_message", { text: "/mute alice 10 mins", channel: "support" });
    expect(error).toBeNull();
    expect(system).toMatchObject({ channel: "support", text: "mod muted alice for 10 minutes" });
    expect(system).not.toHaveProperty("user");
    expect(await bobHears).toEqual(system);
    expect(await request(alice!.socket, "new_message", { text: "can I talk?" })).toEqual(["USER_IS_MUTED"]);

    for (const joined of everyone) joined.socket.disconnect();
    await server.restart();

    const aliceAgain = await join(server.url, "alice");
    const history = (aliceAgain.response["chat"] as { messages: Array<{ text: string }> }).messages;
    expect(history.at(-1)?.text).toBe("mod muted alice for 10 minutes");
    expect(await request(aliceAgain.socket, "new_message", { text: "after the restart?" })).toEqual(["USER_IS_MUTED"]);

    const ownerAgain = await join(server.url, "owner");
    const [, lifted] = await request(ownerAgain.socket, "new_message", { text: "/unmute alice" });
    expect(lifted).toMatchObject({ text: "owner unmuted alice", channel: "lobby" });
    const [speakError, spoken] = await request(aliceAgain.socket, "new_message", { text: "thank you" });
    expect(speakError).toBeNull();
    expect(spoken).toMatchObject({ text: "thank you", user: { uname: "alice" } });
    aliceAgain.socket.disconnect();
    ownerAgain.socket.disconnect();
  });

  it("bans from chat: every session of the user ends at once, the ban is stored (the admin API lists it), its auth is refused, and /unban lets it back", async () => {
    const [mod, alice, bob, bobTab] = await Promise.all(["mod", "alice", "bob", "bob"].map((uname) => join(server.url, uname)));
    const told = [bob!, bobTab!].map(({ socket }) => next<string>(socket, "client_error"));
    const gone = [bob!, bobTab!].map(({ socket }) => next<string>(socket, "disconnect"));
    const aliceHears = record(alice!.socket, "new_message");
    const bobLeft = next(alice!.socket, "user_left");
    expect(await request(mod!.socket, "new_message", { text: "/ban bob 1 day" })).toEqual([null, expect.objectContaining({ text: "mod banned bob for 1 day" })]);
    expect(await Promise.all(told)).toEqual(["you are banned from this app", "you are banned from this app"]);
    expect(await Promise.all(gone)).toEqual(["io server disconnect", "io server disconnect"]);
    expect(await bobLeft).toEqual({ uname: "bob" });
    expect(aliceHears).toMatchObject({ new_message: [{ text: "mod banned bob for 1 day" }] });
    expect((await request(alice!.socket, "new_message", { text: "still here" }))[0]).toBeNull();

    expect((await adminCall(server.url, adminToken, "GET", "/apps/1/bans")).json).toEqual({
      bans: [{ auth_id: demoUser("bob").authId, reason: "banned in chat by mod", created_at: expect.any(String), expires_at: expect.any(String) }],
    });
    for (const joined of [mod, alice]) joined!.socket.disconnect();
    const refused = await connect(server.url);
    expect(await request(refused, "auth", { app_id: 1, access_token: demoUser("bob").token, subscriptions: ["CHAT"] })).toEqual(["USER_IS_BANNED"]);
    const owner = await join(server.url, "owner");
    expect(await request(owner.socket, "new_message", { text: "/unban bob" })).toEqual([null, expect.objectContaining({ text: "owner unbanned bob" })]);
    const back = await join(server.url, "bob");
    for (const socket of [refused, owner.socket, back.socket]) socket.disconnect();
  });

  it("kicks a user from chat on whichever shards its tabs are, and slows a channel for MEMBERs until /slow off", async () => {
    const [mod, alice, aliceTab, bob] = await Promise.all(["mod", "alice", "alice", "bob"].map((uname) => join(server.url, uname)));
    const told = [alice!, aliceTab!].map(({ socket }) => next<string>(socket, "client_error"));
    expect(await request(alice!.socket, "new_message", { text: "/kick bob" })).toEqual(["FORBIDDEN"]);
    expect(await request(mod!.socket, "new_message", { text: "/kick alice" })).toEqual([null, expect.objectContaining({ text: "mod kicked alice" })]);
    expect(await Promise.all(told)).toEqual(["a moderator disconnected you from the chat", "a moderator disconnected you from the chat"]);
    expect(await request(mod!.socket, "new_message", { text: "/kick alice" })).toEqual(["INVALID_COMMAND"]);
    expect(bob!.socket.connected).toBe(true);

    expect(await request(mod!.socket, "new_message", { text: "/slow 60", channel: "slowed" })).toEqual([null, expect.objectContaining({ text: "mod slowed slowed to one message per 60 seconds" })]);
    expect((await request(bob!.socket, "new_message", { text: "one", channel: "slowed" }))[0]).toBeNull();
    expect(await request(bob!.socket, "new_message", { text: "two", channel: "slowed" })).toEqual(["RATE_LIMITED"]);
    expect((await request(bob!.socket, "new_message", { text: "elsewhere" }))[0]).toBeNull();
    expect((await request(mod!.socket, "new_message", { text: "/slow off", channel: "slowed" }))[0]).toBeNull();
    expect((await request(bob!.socket, "new_message", { text: "three", channel: "slowed" }))[0]).toBeNull();
    for (const joined of [mod, alice, aliceTab, bob]) joined!.socket.disconnect();
  });
});
