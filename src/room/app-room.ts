import { DurableObject } from "cloudflare:workers";
import { parseConfig, type Config, type Env } from "../config.js";
import { CloseCode, EngineSocket, type EngineOptions } from "../engine.io/socket.js";
import { encodePacket as encodeEnginePacket } from "../engine.io/encode.js";
import type { EngineProtocol, Frame } from "../engine.io/packet.js";
import { SocketIoEndpoint } from "../socket.io/endpoint.js";
import { encodePacket as encodeSocketPacket } from "../socket.io/encode.js";
import { PacketType } from "../socket.io/packet.js";
import { engineError, jsonError } from "../http/errors.js";
import { SocketIoQuery } from "../http/query.js";
import { ChatRoom, type RoomClient, type RoomHost, type ServerEvent } from "../socketpot/room.js";
import { handleEvent } from "../socketpot/socket-io-adapter.js";
import { D1ChatStore } from "../storage/d1-store.js";
import { findApp, type AppRecord } from "../storage/d1-apps.js";
import { Connection, parseConnectionState, type ConnectionState } from "./connection.js";
import { randomId } from "./ids.js";

/** How long an app's row (existence, allowed origins) is trusted before it is read again. */
const APP_CACHE_MS = 60_000;

/**
 * One Durable Object per app: it holds every connection of the app on hibernatable WebSockets and runs the
 * app's {@link ChatRoom}. It is wiring only: frames go through the Engine.IO and Socket.IO layers into the room,
 * and one alarm drives every connection's heartbeat and auth deadline, so there is no timer per socket.
 */
export class AppRoom extends DurableObject<Env> implements RoomHost {
  private readonly config: Config;
  private readonly engineOptions: EngineOptions;
  private readonly store: D1ChatStore;
  /** Every connection, built from the WebSocket attachments on first use after a wake. */
  private connectionsBySocket: Map<WebSocket, Connection> | null = null;
  private chatRoom: ChatRoom | null = null;
  private app: { record: AppRecord; readAt: number } | null = null;
  /** When the alarm is set for: null for none, undefined until this activation has read it. */
  private alarmAt: number | null | undefined = undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseConfig(env);
    this.engineOptions = {
      pingIntervalMs: this.config.pingIntervalMs,
      pingTimeoutMs: this.config.pingTimeoutMs,
      maxPayloadBytes: this.config.maxPayloadBytes,
    };
    this.store = new D1ChatStore(env.DB);
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const query = SocketIoQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) return engineError(400, 3, "Bad request");
    const { app_id: appId, EIO, transport } = query.data;
    if (transport !== "websocket") return engineError(400, 0, "Transport unknown");
    if (EIO !== "4") return engineError(400, 5, "Unsupported protocol version");
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return engineError(400, 3, "Bad request");

    const app = await this.findApp(appId);
    if (!app) return jsonError(404, "UNKNOWN_APP", `there is no app with id ${appId}`);

    const now = Date.now();
    // Read the surviving connections before accepting, so the new socket is not mistaken for one of them.
    const connections = this.connections();
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const state: ConnectionState = {
      appId,
      engine: EngineSocket.initialState(randomId(), 4, now),
      socketIo: SocketIoEndpoint.initialState(5),
      session: null,
      authDeadline: now + this.config.authTimeoutMs,
    };
    const connection = this.wrap(server, state);
    connections.set(server, connection);
    connection.engine.open([]);
    connection.save();
    await this.ensureAlarm(Math.min(connection.engine.nextHeartbeatAt(), state.authDeadline ?? Infinity));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = this.connectionOf(ws);
    if (!connection) return;
    const received = connection.engine.receive(typeof message === "string" ? message : new Uint8Array(message), Date.now());
    if (received.kind === "closed") return;
    if (received.kind === "rejected") return this.reject(connection, received.code, received.reason);
    for (const payload of received.messages) await this.receiveSocketIo(connection, payload);
    connection.save();
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    const connection = this.connectionOf(ws);
    if (connection) this.depart(connection);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    // Work due within the slack is done now, so that connections opened at nearby times share one wake.
    const now = Date.now() + Math.min(1_000, this.config.pingTimeoutMs / 4);
    for (const connection of this.clients()) {
      if (connection.engine.heartbeat(now)) connection.save();
      else connection.engine.close(CloseCode.NORMAL, "ping timeout");
    }
    this.room()?.expireUnauthenticated(now);
    let next = Infinity;
    for (const connection of this.clients()) {
      next = Math.min(next, connection.engine.nextHeartbeatAt(), connection.authDeadline ?? Infinity);
    }
    if (next !== Infinity) await this.ensureAlarm(next);
  }

  // RoomHost

  *clients(): IterableIterator<Connection> {
    for (const connection of this.connections().values()) if (connection.open) yield connection;
  }

  broadcast(recipients: RoomClient[], event: ServerEvent, payload: unknown): void {
    const framesByProtocol = new Map<EngineProtocol, Frame[]>();
    const payloads = encodeSocketPacket({ type: PacketType.EVENT, nsp: "/", data: [event, payload] });
    for (const recipient of recipients) {
      const connection = recipient as Connection;
      const protocol = connection.state.engine.protocol;
      let frames = framesByProtocol.get(protocol);
      if (!frames) {
        frames = payloads.map((data) => encodeEnginePacket({ type: "message", data }, protocol));
        framesByProtocol.set(protocol, frames);
      }
      connection.sendFrames(frames);
    }
  }

  now(): number {
    return Date.now();
  }

  // Wiring

  private async receiveSocketIo(connection: Connection, payload: string | Uint8Array): Promise<void> {
    const inbound = connection.socketIo.receive(payload);
    switch (inbound.kind) {
      case "none":
        return;
      case "error":
        return this.reject(connection, CloseCode.PROTOCOL_ERROR, `malformed Socket.IO packet: ${inbound.reason}`);
      case "connect":
        if (inbound.nsp !== "/") {
          connection.socketIo.rejectConnect(inbound.nsp, "Invalid namespace");
          return;
        }
        connection.socketIo.acceptConnect("/", randomId());
        // The auth deadline counts from the Socket.IO connect, which follows the Engine.IO open.
        if (connection.session === null) connection.state.authDeadline = Date.now() + this.config.authTimeoutMs;
        return;
      case "disconnect":
        this.depart(connection);
        connection.engine.close(CloseCode.NORMAL, "client namespace disconnect");
        return;
      case "event": {
        const room = this.room();
        if (!room) return;
        const { ackId } = inbound;
        const ack = ackId === null ? null : (args: unknown[]) => connection.socketIo.ack("/", ackId, args);
        await handleEvent(room, connection, inbound.name, inbound.args, ack);
        return;
      }
    }
  }

  /** Closes a connection that broke the protocol, telling the client why first when it can hear events. */
  private reject(connection: Connection, code: number, reason: string): void {
    connection.emit("client_error", `${reason}; closing the connection`);
    connection.engine.close(code, reason);
  }

  private connections(): Map<WebSocket, Connection> {
    if (this.connectionsBySocket) return this.connectionsBySocket;
    const connections = new Map<WebSocket, Connection>();
    for (const ws of this.ctx.getWebSockets()) {
      const state = parseConnectionState(ws.deserializeAttachment());
      if (state) connections.set(ws, this.wrap(ws, state));
      // A connection whose state this version cannot read is asked to reconnect.
      else ws.close(1012, "server restarted; please reconnect");
    }
    this.connectionsBySocket = connections;
    return connections;
  }

  /**
   * The connection of a socket. A socket whose close woke the Durable Object may be missing from
   * `getWebSockets()`, so it is read from its own attachment, to leave the room like any other.
   */
  private connectionOf(ws: WebSocket): Connection | undefined {
    const known = this.connections().get(ws);
    if (known) return known;
    const state = parseConnectionState(ws.deserializeAttachment());
    return state ? this.wrap(ws, state) : undefined;
  }

  private wrap(ws: WebSocket, state: ConnectionState): Connection {
    return new Connection(ws, state, this.engineOptions, (connection) => this.depart(connection));
  }

  /** Removes a connection from the room, once, whichever event (close, error, timeout, server disconnect) came first. */
  private depart(connection: Connection): void {
    if (connection.departed) return;
    connection.departed = true;
    this.connections().delete(connection.ws);
    this.room()?.leave(connection);
  }

  /** The app's room, built on first use from the app id every connection carries. */
  private room(): ChatRoom | null {
    if (this.chatRoom) return this.chatRoom;
    const first = this.connections().values().next().value;
    if (!first) return null;
    this.chatRoom = new ChatRoom(first.state.appId, this.store, this, this.config);
    return this.chatRoom;
  }

  private async findApp(appId: number): Promise<AppRecord | null> {
    const now = Date.now();
    if (this.app && this.app.record.id === appId && now - this.app.readAt < APP_CACHE_MS) return this.app.record;
    const record = await findApp(this.env.DB, appId);
    this.app = record ? { record, readAt: now } : null;
    return record;
  }

  /** Makes sure the alarm fires no later than `at`, without moving an earlier one. */
  private async ensureAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
