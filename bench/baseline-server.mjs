// The baseline: the same Socketpot chat subset on the official Node `socket.io` 4.x server, with in-memory
// storage. auth (demo tokens), history, new_message with ack, broadcast, and deposits posted over HTTP.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { DEMO_USERS_BY_TOKEN as users } from "../scripts/demo-users.mjs";

const port = Number(process.argv[2] ?? 3100);
const history = [];
let nextId = 1;

const http = createServer((request, response) => {
  if (request.method === "POST" && request.url === "/v1/apps/1/events") {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const events = [].concat(JSON.parse(body));
      for (const event of events) io.to(`deposits:${event.auth_id}`).emit(event.type, { balance: event.balance, diff: event.diff });
      response.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ accepted: events.map((e) => e.id) }));
    });
    return;
  }
  response.writeHead(404).end();
});
const io = new Server(http, { pingInterval: 25_000, pingTimeout: 20_000, maxHttpBufferSize: 1e6 });

io.on("connection", (socket) => {
  socket.on("auth", (request, ack) => {
    const user = users.get(request?.access_token) ?? null;
    const subscriptions = user ? request.subscriptions : request.subscriptions.filter((s) => s !== "DEPOSITS");
    if (subscriptions.includes("CHAT")) socket.join("chat");
    if (user && subscriptions.includes("DEPOSITS")) socket.join(`deposits:${user.auth_id}`);
    socket.data.user = user;
    ack(null, { user: user ?? undefined, subscriptions, chat: { messages: history.slice(-100), userlist: {} } });
  });
  socket.on("new_message", (payload, ack) => {
    const user = socket.data.user;
    if (!user) return ack?.("FORBIDDEN");
    const message = { id: nextId++, channel: payload.channel ?? "lobby", text: payload.text, created_at: new Date().toISOString(), user };
    history.push(message);
    if (history.length > 100) history.shift();
    io.to("chat").emit("new_message", message);
    ack?.(null, message);
  });
});

http.listen(port, "127.0.0.1", () => process.send?.({ ready: port }));
