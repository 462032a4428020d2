import { DurableObject } from "cloudflare:workers";
import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { encodePacket } from "../engine.io/encode.js";
import { decodePacket } from "../engine.io/decode.js";
import type { EngineProtocol, PacketData } from "../engine.io/packet.js";
import { decodePayload, encodePayload } from "../engine.io/payload.js";
import { PollingTransport } from "../engine.io/polling.js";
import { CloseCode, EngineSocket, type EngineOptions } from "../engine.io/socket.js";
import { SocketIoEndpoint } from "../socket.io/endpoint.js";
import { AttachmentBudget } from "../socket.io/decode.js";
import { discardBody, readBody } from "../http/body.js";
import { EngineErrorCode, engineError, jsonError, refusalResponse, type Refusal } from "../http/errors.js";
import { clientIp } from "../http/client-ip.js";
import { isUpgrade } from "../http/upgrade.js";
import { Connection, closeSocket, parseConnectionState, type ConnectionState, type Stack } from "./connection.js";
import { SHARD_FULL_HEADER, sessionId } from "../shards.js";
import { BoundedLog, log } from "../log.js";
import { LOG_BYTES_PER_INVOCATION } from "../limits.js";
import { RequestRate } from "./request-rate.js";

/** The application above Engine.IO (Socket.IO, or the conformance echo), told about each connection's life. */
export interface EngineApplication {
  /** A connection has just opened. */
  opened(connection: Connection): void | Promise<void>;
  /** One Engine.IO message from the client. */
  message(connection: Connection, data: PacketData): Promise<void>;
  /** The connection's deadline passed; the application closes it, explaining if it can. */
  expired(connection: Connection): void;
  /** The client broke the protocol; the application closes the connection with `code`, explaining if it can. */
  violated(connection: Connection, code: number, reason: string): void;
  /** The connection ended, however it ended; called once. */
  ended(connection: Connection, reason: string): void;
}

export interface RoomEngineOptions extends EngineOptions {
  /** How long a new connection may go without progressing (connecting a Socket.IO namespace) before it is dropped. */
  connectTimeoutMs: number;
  /** The most connections this object holds; past it, a new one is refused as {@link objectFull}. */
  maxConnections: number;
}

/** The refusal of a new connection by an object that holds its most: the Worker sends it to another shard. */
export function objectFull(max: number): Refusal {
  return {
    status: 503,
    error: "SHARD_FULL",
    code: EngineErrorCode.BAD_REQUEST,
    message: `this shard holds ${max} connections, its most; connect again`,
    headers: { [SHARD_FULL_HEADER]: "1" },
  };
}

/** Who a request is admitted as: the app it is for, and the shard of the app this object is. */
export interface Admitted {
  appId: number;
  shard: number;
}

/** The query of every Engine.IO request; values are checked below in the order the reference server checks them. */
export const EngineQuery = builtOnFirstUse(() => z.object({
  EIO: z.string().optional(),
  transport: z.string().optional(),
  sid: z.string().optional(),
  b64: z.string().optional(),
  app_id: z.string().optional(),
}));
export type EngineQuery = z.infer<typeof EngineQuery>;
let engineQueryKeys: readonly string[] | undefined;

/** A request's query as {@link EngineQuery}: only its known parameters are read (iterating them all cost more). */
function engineQuery(url: URL): EngineQuery {
  const known: Record<string, string> = {};
  for (const key of (engineQueryKeys ??= EngineQuery.keyof().options)) {
    const value = url.searchParams.get(key);
    if (value !== null) known[key] = value;
  }
  return EngineQuery.parse(known);
}

/**
 * The most bytes one object holds, over all its connections, for binary packets still arriving (their text and
 * attachments): an eighth of an isolate's 128 MB, so that clients sending them slowly cannot exhaust its memory.
 */
export const MAX_UNFINISHED_ATTACHMENT_BYTES = 16 * 1024 * 1024;

/**
 * The most connection lines one alarm logs in full. A line is about 250 bytes, so a hundred take a tenth of what
 * Workers Logs keeps of an invocation; the connections past them go into one summary line.
 */
export const CLOSED_LINES_PER_ALARM = Math.floor(LOG_BYTES_PER_INVOCATION / 10 / 250);

const STACKS: Readonly<Record<string, Stack>> = { "/socket.io/": "socket.io", "/engine.io/": "engine.io" };

/**
 * The plain-WebSocket protocol's public path, which the Worker forwards as it came (copying a request to
 * rewrite it cost a tenth of a plain connect): the app id is in the path instead of the query.
 */
const PLAIN_PATH = /^\/v1\/apps\/([^/]+)\/ws$/;

/**
 * A Durable Object that is an Engine.IO server: WebSocket connections on the Hibernation API (state in each
 * socket's attachment), HTTP long-polling sessions in memory, the upgrade from one to the other, and one alarm
 * for every heartbeat and deadline. Subclasses choose the application above it and admit requests.
 */
export abstract class EngineRoom<Env> extends DurableObject<Env> {
  protected abstract readonly engineOptions: RoomEngineOptions;
  protected abstract application(stack: Stack): EngineApplication | null;
  /** A connection opened, changed transport (an upgrade to WebSocket), or ended; for what an object meters. */
  protected connectionChanged(_change: "opened" | "upgraded" | "ended"): void {}
  /**
   * Work of the subclass's own that the alarm does when it is due (asked for with {@link wakeBy}); answers
   * when more is due, or null.
   */
  protected async chores(): Promise<number | null> {
    return null;
  }
  /** Checks a request before the Engine.IO server sees it: the app it names (its id), or a refusal. */
  protected abstract admit(request: Request, query: EngineQuery): Promise<Admitted | Refusal>;
  /** Connection `id` is about to open from `ip`: null lets it in (and counts it until it ends), else a refusal. */
  protected abstract reserveConnection(admission: Admitted, ip: string, id: string): Promise<Refusal | null>;
  /** A connection that {@link reserveConnection} let in has ended. */
  protected abstract releaseConnection(connection: Connection): void;
  /** Headers for the answer that opens a connection (what the Worker is to learn from this object). */
  protected openingHeaders(): Record<string, string> {
    return {};
  }

  /**
   * Engine.IO 3 clients ping the server: the runtime answers `2` with `3` itself, so their pings do not wake
   * a hibernating object; the alarm reads when each socket was last answered.
   */
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("2", "3"));
  }

  /** WebSocket connections by socket, rebuilt from the attachments on first use after a wake. */
  private socketConnections: Map<WebSocket, Connection> | null = null;
  /** Sockets whose connection has ended, so that a late close or error event does not end it twice. */
  private readonly endedSockets = new WeakSet<WebSocket>();
  /** Every open connection by Engine.IO sid, long-polling ones included. */
  private readonly sessions = new Map<string, Connection>();
  /** Bytes held for binary packets still arriving, over every connection. */
  private readonly attachments = new AttachmentBudget(MAX_UNFINISHED_ATTACHMENT_BYTES);
  /** Where the lines of connections ending go while an alarm runs (bounded); null at any other time. */
  private closedLog: BoundedLog | null = null;
  /** When the alarm is set for: null for none, undefined until this activation has read it. */
  private alarmAt: number | null | undefined = undefined;
  /** The requests this object takes (HTTP, WebSocket events, alarms; subclasses count their RPC calls). */
  protected readonly inbound = new RequestRate();

  override async fetch(request: Request): Promise<Response> {
    this.inbound.count();
    const response = await this.answer(request);
    await discardBody(request);
    return response;
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const plainApp = PLAIN_PATH.exec(url.pathname)?.[1];
    const stack = plainApp === undefined ? STACKS[url.pathname] : "plain";
    const application = stack ? this.application(stack) : null;
    if (!stack || !application) return engineError(404, EngineErrorCode.BAD_REQUEST, "Bad request");
    // The plain protocol has no Engine.IO query: its app is in the path.
    if (plainApp !== undefined) return this.openPlain(request, { app_id: plainApp }, application);
    const query = engineQuery(url);
    const { transport } = query;
    if (transport !== "polling" && transport !== "websocket") return engineError(400, EngineErrorCode.TRANSPORT_UNKNOWN, "Transport unknown");
    if (query.EIO !== "3" && query.EIO !== "4") return engineError(400, EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version");
    const protocol: EngineProtocol = query.EIO === "3" ? 3 : 4;
    const admission = await this.admit(request, query);
    if ("status" in admission) return refusalResponse(admission, "engine.io");

    if (query.sid === undefined) {
      const supportsBinary = query.b64 === undefined;
      if (transport === "polling" && request.method !== "GET") return engineError(400, EngineErrorCode.BAD_HANDSHAKE_METHOD, "Bad handshake method");
      if (transport === "websocket" && !isUpgrade(request)) return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
      const opening = await this.reserve(request, { ...admission, stack, protocol, application });
      if ("status" in opening) return refusalResponse(opening, "engine.io");
      return transport === "polling" ? this.openPolling(opening, supportsBinary) : this.openWebSocket(opening);
    }

    const connection = this.registry().sessions.get(query.sid);
    if (!connection) return engineError(400, EngineErrorCode.UNKNOWN_SID, "Session ID unknown");
    if (connection.state.appId !== admission.appId || connection.state.stack !== stack || connection.state.engine.protocol !== protocol) {
      return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
    }
    if (transport === "websocket") return this.upgrade(connection, request);
    if (connection.transport.kind !== "polling") return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
    if (!connection.wire.heartbeat(Date.now())) {
      connection.wire.close(CloseCode.NORMAL, "ping timeout");
      return engineError(400, EngineErrorCode.UNKNOWN_SID, "Session ID unknown");
    }
    if (request.method === "GET") return this.poll(connection);
    if (request.method === "POST") return this.receivePost(connection, application, request);
    return engineError(400, EngineErrorCode.BAD_HANDSHAKE_METHOD, "Bad request method");
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.inbound.count();
    const connection = this.connectionOf(ws);
    if (!connection) return;
    const frame = typeof message === "string" ? message : new Uint8Array(message);
    if (connection.probe === ws) return this.receiveProbe(connection, ws, frame);
    const application = this.application(connection.state.stack);
    if (!application) return;
    if (connection.plain) {
      await application.message(connection, frame);
      return connection.save();
    }
    const received = connection.engine.receive(frame, Date.now());
    if (received.kind === "closed") return connection.end(CloseCode.NORMAL, received.reason, true);
    if (received.kind === "rejected") return application.violated(connection, received.code, received.reason);
    for (const data of received.messages) await application.message(connection, data);
    connection.save();
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.inbound.count();
    this.endSocket(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.inbound.count();
    this.endSocket(ws);
  }

  private endSocket(ws: WebSocket): void {
    const connection = this.connectionOf(ws);
    if (!connection) return;
    if (connection.probe === ws) {
      // The probe gave up: long-polling carries on as if no upgrade had been tried.
      connection.probe = null;
      if (connection.transport.kind === "polling") connection.transport.polling.cancelUpgrade();
      this.socketConnections?.delete(ws);
      return;
    }
    connection.end(CloseCode.NORMAL, "transport close", true);
  }

  override async alarm(): Promise<void> {
    this.inbound.count();
    this.alarmAt = null;
    const closed = new BoundedLog("connection_closed", CLOSED_LINES_PER_ALARM);
    this.closedLog = closed;
    try {
      await this.wake();
    } finally {
      this.closedLog = null;
      closed.flush({ object: this.ctx.id.name ?? this.ctx.id.toString() });
    }
  }

  /** The alarm's work: heartbeats and deadlines due now, and the next wake. */
  private async wake(): Promise<void> {
    // Pings due within the slack are sent now, so that connections opened at nearby times share one wake.
    const now = Date.now();
    const horizon = now + Math.min(1_000, this.engineOptions.pingIntervalMs / 4, this.engineOptions.pingTimeoutMs / 4);
    for (const connection of this.connections()) {
      if (connection.transport.kind === "websocket" && connection.state.engine.protocol === 3) {
        const answered = this.ctx.getWebSocketAutoResponseTimestamp(connection.transport.ws);
        if (answered) connection.engine.clientPinged(answered.getTime());
      }
      // Only connections with something due are acted on and saved: saving every one at every wake made each
      // wake cost in proportion to the connections open (the answered pings above are read again at each wake).
      if (dueAt(connection) > horizon) continue;
      if (!connection.wire.heartbeat(now, horizon)) {
        connection.wire.close(CloseCode.NORMAL, "ping timeout");
        continue;
      }
      const { deadline } = connection.state;
      if (deadline !== null && deadline <= now) this.application(connection.state.stack)?.expired(connection);
      connection.save();
    }
    // The next wake: the earliest moment any connection still open, or a chore, needs attention.
    let next = (await this.chores()) ?? Infinity;
    for (const connection of this.connections()) next = Math.min(next, dueAt(connection));
    if (next !== Infinity) await this.alarmBy(next);
  }

  /** Every open connection, WebSocket and long-polling alike. */
  protected *connections(): IterableIterator<Connection> {
    for (const connection of this.registry().sessions.values()) if (connection.open) yield connection;
  }

  private async openPolling(opening: Opening, supportsBinary: boolean): Promise<Response> {
    // What waits for a client that is not polling is bounded like what it may send in one; a client that has
    // taken nothing for as long as a ping may go unanswered is not polling.
    const polling = new PollingTransport(this.engineOptions.maxPayloadBytes, this.engineOptions.pingTimeoutMs, Date.now());
    const connection = this.createConnection(opening, { kind: "polling", polling, supportsBinary });
    const handshake = connection.engine.handshake(["websocket"]);
    this.connectionChanged("opened");
    await opening.application.opened(connection);
    await this.alarmBy(dueAt(connection));
    return payloadResponse(encodePayload([handshake], opening.protocol, supportsBinary), this.openingHeaders());
  }

  /** A WebSocket connection; Engine.IO clients are greeted with the `open` packet, plain ones are not. */
  private async openWebSocket(opening: Opening): Promise<Response> {
    const { client, server } = this.acceptSocket();
    const connection = this.createConnection(opening, { kind: "websocket", ws: server });
    this.registry().socketConnections.set(server, connection);
    if (opening.stack !== "plain") server.send(encodePacket(connection.engine.handshake([]), opening.protocol));
    this.connectionChanged("opened");
    await opening.application.opened(connection);
    connection.save();
    await this.alarmBy(dueAt(connection));
    return new Response(null, { status: 101, webSocket: client, headers: this.openingHeaders() });
  }

  /** A plain-protocol WebSocket: no Engine.IO, the application reads the frames itself. */
  private async openPlain(request: Request, query: EngineQuery, application: EngineApplication): Promise<Response> {
    if (!isUpgrade(request)) return jsonError(426, "UPGRADE_REQUIRED", "this endpoint speaks WebSocket only");
    const admission = await this.admit(request, query);
    if ("status" in admission) return refusalResponse(admission, "json");
    const opening = await this.reserve(request, { ...admission, stack: "plain", protocol: 4, application });
    return "status" in opening ? refusalResponse(opening, "json") : this.openWebSocket(opening);
  }

  /** Names a new connection and reserves its place within the app's limits: how it will open, or a refusal. */
  private async reserve(request: Request, admitted: Omit<Opening, "id" | "ip">): Promise<Opening | Refusal> {
    if (this.registry().sessions.size >= this.engineOptions.maxConnections) return objectFull(this.engineOptions.maxConnections);
    const opening = { ...admitted, id: sessionId(admitted.shard), ip: clientIp(request) };
    return (await this.reserveConnection(admitted, opening.ip, opening.id)) ?? opening;
  }

  /**
   * A new hibernatable WebSocket pair. The sockets that survived a wake are read first, so the new socket
   * (whose attachment is still empty) is never mistaken for one of them.
   */
  private acceptSocket(): { client: WebSocket; server: WebSocket } {
    this.registry();
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    return { client, server };
  }

  private createConnection(opening: Opening, transport: Connection["transport"]): Connection {
    const now = Date.now();
    const state: ConnectionState = {
      appId: opening.appId,
      shard: opening.shard,
      stack: opening.stack,
      engine: EngineSocket.initialState(opening.id, opening.protocol, now),
      socketIo: SocketIoEndpoint.initialState(opening.protocol === 3 ? 4 : 5),
      session: null,
      mark: null,
      deadline: now + this.engineOptions.connectTimeoutMs,
      ip: opening.ip,
      openedAt: now,
    };
    const connection = this.wrap(state, transport);
    this.registry().sessions.set(connection.id, connection);
    return connection;
  }

  private async poll(connection: Connection): Promise<Response> {
    if (connection.transport.kind !== "polling") return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
    const { polling, supportsBinary } = connection.transport;
    const waiting = polling.poll(Date.now());
    if (!waiting) {
      connection.engine.close(CloseCode.PROTOCOL_ERROR, "overlap from client");
      return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
    }
    const packets = await waiting;
    if (packets === null) return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request: the session was upgraded to WebSocket");
    return payloadResponse(encodePayload(packets, connection.state.engine.protocol, supportsBinary));
  }

  private async receivePost(connection: Connection, application: EngineApplication, request: Request): Promise<Response> {
    const limit = this.engineOptions.maxPayloadBytes;
    const body = await readPayload(request, limit);
    if (body === null) {
      connection.engine.close(CloseCode.MESSAGE_TOO_BIG, "payload larger than maxPayload");
      return engineError(400, EngineErrorCode.BAD_REQUEST, `Bad request: payload larger than maxPayload (${limit} bytes)`);
    }
    const packets = decodePayload(body, connection.state.engine.protocol);
    if (!Array.isArray(packets)) {
      connection.engine.close(CloseCode.PROTOCOL_ERROR, `parse error: ${packets.reason}`);
      return engineError(400, EngineErrorCode.BAD_REQUEST, `Bad request: ${packets.reason}`);
    }
    for (const packet of packets) {
      const received = connection.engine.receivePacket(packet, Date.now());
      if (received.kind === "closed") {
        connection.end(CloseCode.NORMAL, received.reason, true);
        break;
      }
      if (received.kind === "rejected") {
        application.violated(connection, received.code, received.reason);
        return engineError(400, EngineErrorCode.BAD_REQUEST, `Bad request: ${received.reason}`);
      }
      for (const data of received.messages) await application.message(connection, data);
      if (!connection.open && connection.endCode !== CloseCode.NORMAL) return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request: protocol violation");
    }
    // The session may have moved to a WebSocket while a request was under way: what it changed is kept there.
    connection.save();
    return new Response("ok", { headers: { "Content-Type": "text/html" } });
  }

  /** A WebSocket asks to take over a long-polling session: accepted as a probe until the client sends `upgrade`. */
  private upgrade(connection: Connection, request: Request): Response {
    if (!isUpgrade(request)) return engineError(400, EngineErrorCode.BAD_REQUEST, "Bad request");
    if (connection.transport.kind !== "polling" || connection.probe) {
      // Like the reference server: a second WebSocket for a session that has (or is getting) one is closed at once.
      const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
      server.accept();
      server.close(CloseCode.POLICY_VIOLATION, "session already upgraded");
      return new Response(null, { status: 101, webSocket: client });
    }
    const { client, server } = this.acceptSocket();
    connection.probe = server;
    connection.transport.polling.probeOpened();
    this.registry().socketConnections.set(server, connection);
    return new Response(null, { status: 101, webSocket: client });
  }

  private receiveProbe(connection: Connection, ws: WebSocket, frame: string | Uint8Array): void {
    const packet = decodePacket(frame, connection.state.engine.protocol);
    if (packet.type === "ping" && packet.data === "probe" && connection.transport.kind === "polling") {
      ws.send(encodePacket({ type: "pong", data: "probe" }, connection.state.engine.protocol));
      connection.transport.polling.startUpgrade();
    } else if (packet.type === "upgrade") {
      connection.completeUpgrade();
      this.connectionChanged("upgraded");
    } else if (packet.type !== "noop") {
      closeSocket(ws, CloseCode.PROTOCOL_ERROR, "invalid upgrade");
    }
  }

  /** The connections index, built on first use after a wake from the sockets the runtime kept. */
  private registry(): { socketConnections: Map<WebSocket, Connection>; sessions: Map<string, Connection> } {
    if (!this.socketConnections) {
      this.socketConnections = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const state = parseConnectionState(ws.deserializeAttachment());
        if (!state) {
          // A socket whose state this version cannot read (or a probe cut off by the wake) is asked to reconnect.
          closeSocket(ws, 1012, "server restarted; please reconnect");
          continue;
        }
        const connection = this.wrap(state, { kind: "websocket", ws });
        this.socketConnections.set(ws, connection);
        this.sessions.set(connection.id, connection);
      }
    }
    return { socketConnections: this.socketConnections, sessions: this.sessions };
  }

  /**
   * The connection of a socket. A socket whose close woke the Durable Object may be missing from
   * `getWebSockets()`, so it is read from its own attachment, to end like any other.
   */
  private connectionOf(ws: WebSocket): Connection | undefined {
    const known = this.registry().socketConnections.get(ws);
    if (known) return known;
    if (this.endedSockets.has(ws)) return undefined;
    const state = parseConnectionState(ws.deserializeAttachment());
    return state ? this.wrap(state, { kind: "websocket", ws }) : undefined;
  }

  private wrap(state: ConnectionState, transport: Connection["transport"]): Connection {
    return new Connection(state, transport, this.engineOptions, {
      ended: (connection, reason) => this.ended(connection, reason),
      offsetFor: (connection) => this.offsetFor(connection),
      attachments: this.attachments,
    });
  }

  /** The recovery offset stamped on an event for one connection, for rooms that keep a recovery log (see {@link Connection.emit}). */
  protected offsetFor(_connection: Connection): string | null {
    return null;
  }

  /** The open connection with Engine.IO session id `id`. */
  protected connection(id: string): Connection | undefined {
    return this.registry().sessions.get(id);
  }

  /**
   * A connection ended: its one log line tells its whole life (a canonical log line), so that opening and
   * authenticating, the hot path, write no log at all.
   */
  private ended(connection: Connection, reason: string): void {
    if (this.sessions.has(connection.id)) this.releaseConnection(connection);
    const { appId, stack, engine, openedAt } = connection.state;
    const session = connection.lastSession;
    const line = {
      app_id: appId,
      sid: connection.id,
      stack,
      eio: engine.protocol,
      transport: connection.transport.kind,
      auth_id: session?.user?.auth_id ?? null,
      subscriptions: session?.subscriptions ?? null,
      duration_ms: openedAt ? Date.now() - openedAt : null,
      reason,
    };
    if (this.closedLog) this.closedLog.line(line);
    else log("connection_closed", line);
    this.sessions.delete(connection.id);
    for (const ws of [connection.transport.kind === "websocket" ? connection.transport.ws : null, connection.probe]) {
      if (!ws) continue;
      this.socketConnections?.delete(ws);
      this.endedSockets.add(ws);
    }
    this.application(connection.state.stack)?.ended(connection, reason);
    this.connectionChanged("ended");
  }

  /** Makes sure the alarm comes by `due`, for a chore. */
  protected wakeBy(due: number): Promise<void> {
    return this.alarmBy(due);
  }

  /**
   * Makes sure the alarm comes by `due`. The alarm as it stands already covers every other connection (each was
   * counted in when it opened, and each wake sets the next from all of them), so a new connection costs the
   * same however many are open. An alarm already due and not yet run is left alone: it will set the next.
   */
  private async alarmBy(due: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= due) return;
    this.alarmAt = due;
    await this.ctx.storage.setAlarm(due);
  }
}

/** When a connection next needs the alarm: a heartbeat to send or check, or its deadline. */
function dueAt(connection: Connection): number {
  return Math.min(connection.wire.nextHeartbeatAt(), connection.state.deadline ?? Infinity);
}

interface Opening extends Admitted {
  /** The Engine.IO session id the connection will have. */
  id: string;
  stack: Stack;
  protocol: EngineProtocol;
  application: EngineApplication;
  ip: string;
}

function payloadResponse(body: string | Uint8Array, headers: Record<string, string> = {}): Response {
  const contentType = typeof body === "string" ? "text/plain; charset=UTF-8" : "application/octet-stream";
  return new Response(body, { headers: { ...headers, "Content-Type": contentType } });
}

/** The request body as a payload: bytes for v3 binary payloads, else text; null when larger than `limit`. */
async function readPayload(request: Request, limit: number): Promise<string | Uint8Array | null> {
  const bytes = await readBody(request, limit);
  if (bytes === null) return null;
  const binary = request.headers.get("Content-Type")?.startsWith("application/octet-stream") ?? false;
  return binary ? bytes : new TextDecoder().decode(bytes);
}
