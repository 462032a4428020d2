import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, next, request, type Joined } from "../support/clients.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
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
});
