import { SELF, env } from "cloudflare:test";
import { roomOf } from "../../src/shards.js";

/** The room of an app created without a placement, as every app of these tests is. */
export const appRoom = (appId: number) => roomOf(env, { id: appId, placement: { jurisdiction: null, locationHint: null } });

export const token = (authId: number) => `00000000-0000-4000-8000-${String(authId).padStart(12, "0")}`;

/** A WebSocket into one of the app's Durable Objects through the Worker, speaking Engine.IO/Socket.IO by hand. */
export async function openSocket(appId = 1, ip?: string) {
  const response = await SELF.fetch(`http://edge.test/socket.io/?EIO=4&transport=websocket&app_id=${appId}`, {
    headers: { Upgrade: "websocket", ...(ip === undefined ? {} : { "CF-Connecting-IP": ip }) },
  });
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket: ${response.status}`);
  const frames: string[] = [];
  let wake: (() => void) | null = null;
  ws.addEventListener("message", (event) => {
    frames.push(String(event.data));
    wake?.();
  });
  const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
  ws.accept();
  const nextFrame = async (prefix: string): Promise<string> => {
    for (let attempt = 0; attempt < 300; attempt++) {
      const index = frames.findIndex((frame) => frame.startsWith(prefix));
      if (index >= 0) return frames.splice(index, 1)[0] as string;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    throw new Error(`no frame starting with ${prefix}; got ${JSON.stringify(frames)}`);
  };
  const sid = (JSON.parse((await nextFrame("0{")).slice(1)) as { sid: string }).sid;
  ws.send("40");
  await nextFrame("40{");
  const request = async (ackId: number, event: string, payload: unknown) => {
    ws.send(`42${ackId}${JSON.stringify([event, payload])}`);
    return JSON.parse((await nextFrame(`43${ackId}[`)).slice(`43${ackId}`.length)) as unknown[];
  };
  /** The next `name` event as `[name, payload]`; the offset it carries (connection state recovery) is checked and dropped. */
  const nextEvent = async (name: string): Promise<[string, unknown]> => {
    const args = JSON.parse((await nextFrame(`42["${name}"`)).slice(2)) as unknown[];
    if (args.length !== 3 || typeof args[2] !== "string" || !/^\d+$/.test(args[2])) throw new Error(`event without an offset: ${JSON.stringify(args)}`);
    return [name, args[1]];
  };
  /**
   * Closes and waits for the server's answer, by which time the room has handled (and logged) the close: a
   * test that ends earlier leaves the room's log lines to arrive while the test pool is shutting down.
   */
  const close = async (reason = "done") => {
    ws.close(1000, reason);
    await closed;
  };
  return { ws, sid, frames, nextFrame, nextEvent, request, close };
}
