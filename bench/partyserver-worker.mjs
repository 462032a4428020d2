// The bench's partyserver column: the chat subset of Socketpot's plain-WebSocket protocol (auth answer, chat
// broadcast to CHAT subscribers, ack) on partyserver, the room library a Cloudflare developer would pick, written
// the way its README shows: a hibernating Server, addressed with getServerByName, state on the connection. No
// storage, like the floor. It lives in bench/ only; bench/run.mjs bundles it and serves it on the same workerd.
import { Server, getServerByName } from "partyserver";
import { DEMO_USERS_BY_TOKEN } from "../scripts/demo-users.mjs";


export class ChatServer extends Server {
  static options = { hibernate: true };
  nextId = 0;

  onMessage(connection, text) {
    const { a: action, p: param, id } = JSON.parse(text);
    if (action === "auth") {
      const user = DEMO_USERS_BY_TOKEN.get(param.access_token) ?? null;
      connection.setState({ user, chat: param.subscriptions.includes("CHAT") });
      const result = { user, subscriptions: param.subscriptions, chat: { messages: [], userlist: {} } };
      connection.send(JSON.stringify([{ a: "ack", p: { id, result }, s: "dashboard" }]));
    } else if (action === "chat") {
      const message = { id: ++this.nextId, channel: "lobby", text: param, created_at: new Date().toISOString(), user: connection.state?.user };
      const frame = JSON.stringify([{ a: "new_message", p: message, s: "lobby" }]);
      for (const each of this.getConnections()) if (each.state?.chat) each.send(frame);
      if (id) connection.send(JSON.stringify([{ a: "ack", p: { id, result: message }, s: "dashboard" }]));
    }
  }
}

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname !== "/v1/apps/1/ws") return new Response("not found", { status: 404 });
    return (await getServerByName(env.CHAT, "app:1")).fetch(request);
  },
};
