import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { roomName } from "../../src/http/room-name.js";

const token = (authId: number) => `00000000-0000-4000-8000-${String(authId).padStart(12, "0")}`;

/** A WebSocket into the app's Durable Object through the Worker, speaking Engine.IO/Socket.IO by hand. */
async function openSocket() {
  const response = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=websocket&app_id=1", {
    headers: { Upgrade: "websocket" },
  });
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${response.status}`);
  const frames: string[] = [];
  let wake: (() => void) | null = null;
  ws.addEventListener("message", (event) => {
    frames.push(String(event.data));
    wake?.();
  });
  ws.accept();
  const nextFrame = async (prefix: string): Promise<string> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const index = frames.findIndex((frame) => frame.startsWith(prefix));
      if (index >= 0) return frames.splice(index, 1)[0] as string;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    throw new Error(`no frame starting with ${prefix}; got ${JSON.stringify(frames)}`);
  };
  await nextFrame("0{");
  ws.send("40");
  await nextFrame("40{");
  const request = async (ackId: number, event: string, payload: unknown) => {
    ws.send(`42${ackId}${JSON.stringify([event, payload])}`);
    return JSON.parse((await nextFrame(`43${ackId}[`)).slice(`43${ackId}`.length)) as unknown[];
  };
  return { ws, frames, nextFrame, request };
}

const room = () => env.ROOMS.get(env.ROOMS.idFromName(roomName(1)));

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
    expect(JSON.parse((await watcher.nextFrame('42["new_message"')).slice(2))).toEqual(["new_message", message]);

    await evictDurableObject(room());
    const late = await openSocket();
    const [, response] = await late.request(1, "auth", { app_id: 1, access_token: token(4), subscriptions: ["CHAT"] });
    expect((response as { chat: { userlist: Record<string, unknown> } }).chat.userlist).toEqual({
      alice: { uname: "alice", auth_id: 3, role: "MEMBER" },
      bob: { uname: "bob", auth_id: 4, role: "MEMBER" },
    });

    await evictDurableObject(room());
    alice.ws.close(1000, "bye");
    expect(JSON.parse((await watcher.nextFrame('42["user_left"')).slice(2))).toEqual(["user_left", { uname: "alice" }]);
    for (const socket of [watcher, late]) socket.ws.close(1000, "done");
  });
});
