// The bench's floor: a bare Durable Object behind the same Worker route as Socketpot Edge, doing only what no
// server of this chat can avoid on workerd. It accepts each WebSocket on the Hibernation API and answers the
// Engine.IO open, the Socket.IO connect and `auth` with canned frames; it sends each `new_message` to the
// sockets that subscribed to CHAT and a posted deposit to its user's sockets. No storage, no validation, no
// state but the sockets, their attachments and the set of CHAT sockets (in memory: a bench run is shorter than
// any hibernation). It lives in bench/ only and is never deployed; bench/run.mjs serves it on workerd.
import { DurableObject } from "cloudflare:workers";
import { DEMO_USERS_BY_TOKEN } from "../scripts/demo-users.mjs";


// The heartbeat is long enough that no ping falls inside a bench run: pinging is not what the floor measures.
const OPEN = `0${JSON.stringify({ upgrades: [], pingInterval: 300_000, pingTimeout: 20_000, maxPayload: 1_000_000 })}`;

export class FloorRoom extends DurableObject {
  nextId = 0;
  chat = new Set();

  async fetch(request) {
    if (new URL(request.url).pathname === "/v1/apps/1/events") {
      const events = [].concat(await request.json());
      for (const event of events) {
        const frame = `42${JSON.stringify([event.type, { balance: event.balance, diff: event.diff }])}`;
        for (const ws of this.ctx.getWebSockets()) if (ws.deserializeAttachment()?.deposits === event.auth_id) ws.send(frame);
      }
      return Response.json({ accepted: events.map((event) => event.id) }, { status: 202 });
    }
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send(OPEN.replace("{", `{"sid":"${crypto.randomUUID()}",`));
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, frame) {
    if (frame === "40") return ws.send(`40{"sid":"${crypto.randomUUID()}"}`);
    const packet = /^42(\d*)(\[.*)$/s.exec(frame);
    if (!packet) return;
    const [, ackId, body] = packet;
    const [event, payload] = JSON.parse(body);
    if (event === "auth") {
      const user = DEMO_USERS_BY_TOKEN.get(payload.access_token) ?? null;
      ws.serializeAttachment({ user, deposits: user && payload.subscriptions.includes("DEPOSITS") ? user.auth_id : null });
      if (payload.subscriptions.includes("CHAT")) this.chat.add(ws);
      ws.send(`43${ackId}${JSON.stringify([null, { user, subscriptions: payload.subscriptions, chat: { messages: [], userlist: {} } }])}`);
    } else if (event === "new_message") {
      const message = { id: ++this.nextId, channel: "lobby", text: payload.text, created_at: new Date().toISOString(), user: ws.deserializeAttachment()?.user };
      const broadcast = `42${JSON.stringify(["new_message", message])}`;
      for (const socket of this.chat) socket.send(broadcast);
      if (ackId) ws.send(`43${ackId}${JSON.stringify([null, message])}`);
    }
  }

  webSocketClose(ws) {
    this.chat.delete(ws);
  }
}

export default {
  fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname !== "/socket.io/" && pathname !== "/v1/apps/1/events") return new Response("not found", { status: 404 });
    return env.FLOOR.get(env.FLOOR.idFromName("app:1")).fetch(request);
  },
};
