import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { encodePacket } from "../engine.io/encode.js";
import type { Frame, Packet } from "../engine.io/packet.js";
import { PlainSocket } from "../plain/socket.js";
import { EncodedEvent } from "./broadcast.js";
import type { PollingTransport } from "../engine.io/polling.js";
import { CloseCode, EngineSocket, type EngineOptions, type EngineState } from "../engine.io/socket.js";
import { PacketDecoder, type AttachmentBudget } from "../socket.io/decode.js";
import { SocketIoEndpoint, type SocketIoState } from "../socket.io/endpoint.js";
import type { ClientSession } from "../socketpot/directory.js";
import type { FeedMark } from "../socketpot/feed.js";
import type { RecoveryIds } from "../socketpot/ordering.js";
import type { ServerEvent } from "../socketpot/room.js";
import type { SocketIoClient } from "./socketpot-namespace.js";
import { StoredSession } from "../socketpot/schemas.js";

/** Which protocol stack a connection runs above Engine.IO. */
export const Stack = builtOnFirstUse(() => z.enum(["socket.io", "engine.io", "plain"]));
export type Stack = z.infer<typeof Stack>;

/**
 * Everything a connection must remember while the Durable Object hibernates. It is stored as the WebSocket's
 * attachment (at most 2 KiB serialized) and parsed back with this schema after a wake, so a deploy that changes
 * its shape closes old connections cleanly instead of misreading them.
 */
const ConnectionStateSchema = builtOnFirstUse(() => z.object({
  /** The app the connection belongs to (0 on the conformance server, which has no apps). */
  appId: z.number().int().nonnegative(),
  /** The app's connection shard that holds it (0: the app's room itself). */
  shard: z.number().int().nonnegative().default(0),
  stack: Stack,
  engine: z.object({
    sid: z.string(),
    protocol: z.union([z.literal(3), z.literal(4)]),
    pingSentAt: z.number().nullable(),
    lastPingAt: z.number(),
  }) satisfies z.ZodType<EngineState>,
  socketIo: z.object({
    protocol: z.union([z.literal(4), z.literal(5)]),
    namespaces: z.record(z.string(), z.string()),
    pids: z.record(z.string(), z.string()).default({}),
    connects: z.number().int().nonnegative().default(0),
  }) satisfies z.ZodType<SocketIoState>,
  session: StoredSession.nullable() satisfies z.ZodType<ClientSession | null>,
  /** Where in the shard's feed the session started. */
  mark: z.object({ epoch: z.string(), seq: z.number().int(), offset: z.string().nullable() }).nullable().default(null) satisfies z.ZodType<FeedMark | null>,
  /** When the connection is dropped unless it progresses first (connects a namespace, authenticates). */
  deadline: z.number().nullable(),
  /** The client's address (CF-Connecting-IP), for the per-address connection limit. */
  ip: z.string(),
  /** When it opened (epoch ms), for its log line; 0 for connections opened before it was kept. */
  openedAt: z.number().default(0),
}));
export type ConnectionState = z.infer<typeof ConnectionStateSchema>;

export function parseConnectionState(attachment: unknown): ConnectionState | null {
  const parsed = ConnectionStateSchema.safeParse(attachment);
  return parsed.success ? parsed.data : null;
}

/** How a connection's packets travel right now; long-polling is replaced by a WebSocket on upgrade. */
export type Transport =
  | { kind: "websocket"; ws: WebSocket }
  | { kind: "polling"; polling: PollingTransport; supportsBinary: boolean };

/** What the room's clock and lifecycle need of a connection's wire protocol (Engine.IO, or the plain one). */
export interface WireSocket {
  /** Sends what is due by `horizon` (a ping, a heartbeat); false when the peer has timed out at `now`. */
  heartbeat(now: number, horizon?: number): boolean;
  nextHeartbeatAt(): number;
  close(code: number, reason: string): void;
}

/** What a connection reports to, and asks of, the room that holds it. */
export interface ConnectionHooks {
  /** The connection ended; called once. */
  ended(connection: Connection, reason: string): void;
  /** The recovery offset stamped on events sent to this connection alone. */
  offsetFor(connection: Connection): string | null;
  /** The budget of bytes for unfinished binary packets, shared by all the room's connections. */
  readonly attachments: AttachmentBudget;
}

/**
 * One client: its Engine.IO socket over the current transport, its Socket.IO endpoint, and (for Socketpot)
 * its session. Only WebSocket connections persist their state; long-polling ones live in memory.
 */
export class Connection implements SocketIoClient {
  readonly engine: EngineSocket;
  /** The plain protocol's socket; null for Engine.IO connections. */
  readonly plain: PlainSocket | null;
  private endpoint: SocketIoEndpoint | null = null;
  /** A WebSocket that probed to take over from long-polling, until the upgrade completes. */
  probe: WebSocket | null = null;
  /** Set once the connection has ended (by {@link end}), whichever event noticed first. */
  departed = false;
  /** The close code it ended with: NORMAL, or the protocol violation that ended it. */
  endCode: number | null = null;
  private endedSession: ClientSession | null = null;

  constructor(
    readonly state: ConnectionState,
    public transport: Transport,
    private readonly engineOptions: EngineOptions,
    private readonly hooks: ConnectionHooks,
  ) {
    const link = { send: (packet: Packet) => this.sendPacket(packet), close: (code: number, reason: string) => this.end(code, reason) };
    this.engine = new EngineSocket(state.engine, link, engineOptions);
    this.plain =
      state.stack === "plain" && transport.kind === "websocket"
        ? new PlainSocket(state.engine, (frame) => this.sendFrame(transport.ws, frame), (code, reason) => this.end(code, reason), engineOptions.pingIntervalMs)
        : null;
  }

  /** The wire protocol the connection speaks, for heartbeats and closing. */
  get wire(): WireSocket {
    return this.plain ?? this.engine;
  }

  get id(): string {
    return this.state.engine.sid;
  }

  get appId(): number {
    return this.state.appId;
  }

  get open(): boolean {
    return !this.departed;
  }

  get socketIo(): SocketIoEndpoint {
    this.endpoint ??= new SocketIoEndpoint(
      this.state.socketIo,
      { send: (payloads) => this.engine.send(payloads) },
      new PacketDecoder(this.state.socketIo.protocol, {
        maxAttachmentBytes: this.engineOptions.maxPayloadBytes,
        acceptsBinary: (nsp) => this.socketIo.isConnected(nsp),
        budget: this.hooks.attachments,
      }),
    );
    return this.endpoint;
  }

  get canRecover(): boolean {
    return this.state.stack === "socket.io" && this.state.socketIo.protocol === 5;
  }

  get firstConnect(): boolean {
    return this.state.socketIo.connects === 1;
  }

  get shard(): number {
    return this.state.shard;
  }

  /** Its socket id and private session id in the main namespace, when it was given a pid. */
  get recovery(): RecoveryIds | null {
    const sid = this.state.socketIo.namespaces["/"];
    const pid = this.state.socketIo.pids["/"];
    return sid !== undefined && pid !== undefined ? { sid, pid } : null;
  }

  get session(): ClientSession | null {
    return this.state.session;
  }

  get mark(): FeedMark | null {
    return this.state.mark;
  }

  expectAuthBy(deadline: number): void {
    this.state.deadline = deadline;
  }

  startSession(session: ClientSession, mark: FeedMark): void {
    this.state.session = session;
    this.state.mark = mark;
    this.state.deadline = null;
  }

  /** The session it has, or had before it left its namespace (for its log line; not kept over hibernation). */
  get lastSession(): ClientSession | null {
    return this.state.session ?? this.endedSession;
  }

  endSession(): void {
    this.endedSession = this.state.session;
    this.state.session = null;
    this.state.mark = null;
  }

  emit(event: ServerEvent, payload: unknown, offset = this.hooks.offsetFor(this)): void {
    this.deliver(new EncodedEvent(event, payload, offset));
  }

  /**
   * Sends an event that may have been encoded once for many connections: plain clients get the shared event,
   * Socket.IO WebSockets the shared frames, long-polling buffers the shared packets.
   */
  deliver(event: EncodedEvent): void {
    if (!this.open) return;
    if (this.plain) return this.plain.queue(event.plainEvent());
    if (!this.socketIo.isConnected("/")) return;
    // Clients given a pid take an event's last string argument for its offset, so each of their events has one.
    const withOffset = this.socketIo.pidOf("/") !== null;
    if (this.transport.kind === "websocket") {
      for (const frame of event.socketIoFrames(this.state.engine.protocol, withOffset)) this.sendFrame(this.transport.ws, frame);
    } else {
      for (const data of event.socketIoMessages(withOffset)) this.buffer(this.transport.polling, { type: "message", data });
    }
  }

  disconnect(): void {
    if (!this.open) return;
    if (!this.plain) this.socketIo.sendDisconnect("/");
    this.wire.close(CloseCode.NORMAL, "server disconnect");
  }

  /**
   * Writes the state back to the WebSocket attachment. The room saves once after each event it handles (a
   * message, a POST, an alarm), whatever the event changed, rather than at each change.
   */
  save(): void {
    if (this.open && this.transport.kind === "websocket") this.transport.ws.serializeAttachment(this.state);
  }

  /** Moves the connection onto its probing WebSocket, sending what long-polling still held. */
  completeUpgrade(): void {
    if (this.transport.kind !== "polling" || !this.probe) return;
    const held = this.transport.polling.finishUpgrade();
    this.transport = { kind: "websocket", ws: this.probe };
    this.probe = null;
    for (const packet of held) this.sendPacket(packet);
    this.save();
  }

  private sendPacket(packet: Packet): void {
    if (!this.open) return;
    if (this.transport.kind === "polling") this.buffer(this.transport.polling, packet);
    else this.sendFrame(this.transport.ws, encodePacket(packet, this.state.engine.protocol));
  }

  /** Keeps a packet for the client's next poll; a client that has stopped polling while too much waits is dropped. */
  private buffer(polling: PollingTransport, packet: Packet): void {
    if (!polling.send(packet, Date.now())) this.end(CloseCode.POLICY_VIOLATION, "the client stopped polling: more is waiting for it than the server keeps");
  }

  private sendFrame(ws: WebSocket, frame: Frame): void {
    try {
      ws.send(frame);
    } catch {
      // The peer is gone; its close event ends the connection.
    }
  }

  /** Ends the connection, once: closes the transport (completing the close handshake if the client began it) and reports why. */
  end(code: number, reason: string, byClient = false): void {
    if (this.departed) return;
    this.departed = true;
    this.endCode = code;
    if (this.transport.kind === "polling") this.transport.polling.close(byClient);
    else closeSocket(this.transport.ws, code, reason);
    if (this.probe) closeSocket(this.probe, code, reason);
    this.endpoint?.discard();
    this.hooks.ended(this, reason);
  }
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, truncateReason(reason));
  } catch {
    // Already closed by the peer.
  }
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  return bytes.byteLength <= 123 ? reason : new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, "") + "...";
}
