import { z } from "zod";
import { PacketDecoder } from "../socket.io/decode.js";
import { SocketIoEndpoint, type SocketIoState } from "../socket.io/endpoint.js";
import { CloseCode, EngineSocket, type EngineOptions, type EngineState } from "../engine.io/socket.js";
import type { Frame } from "../engine.io/packet.js";
import type { ClientSession, RoomClient, ServerEvent } from "../socketpot/room.js";
import { Role, Subscription } from "../socketpot/schemas.js";

/**
 * Everything a connection must remember while the Durable Object hibernates. It is stored as the WebSocket's
 * attachment (at most 2 KiB serialized) and parsed back with this schema after a wake, so a deploy that changes
 * its shape closes old connections cleanly instead of misreading them.
 */
const ConnectionStateSchema = z.object({
  appId: z.number().int().positive(),
  engine: z.object({
    sid: z.string(),
    protocol: z.union([z.literal(3), z.literal(4)]),
    pingSentAt: z.number().nullable(),
    lastPingAt: z.number(),
  }) satisfies z.ZodType<EngineState>,
  socketIo: z.object({
    protocol: z.union([z.literal(4), z.literal(5)]),
    namespaces: z.record(z.string(), z.string()),
  }) satisfies z.ZodType<SocketIoState>,
  session: z
    .object({
      user: z.object({ uname: z.string(), auth_id: z.number().int(), role: Role }).nullable(),
      subscriptions: z.array(Subscription),
    })
    .nullable() satisfies z.ZodType<ClientSession | null>,
  authDeadline: z.number().nullable(),
});
export type ConnectionState = z.infer<typeof ConnectionStateSchema>;

export function parseConnectionState(attachment: unknown): ConnectionState | null {
  const parsed = ConnectionStateSchema.safeParse(attachment);
  return parsed.success ? parsed.data : null;
}

/** A Socket.IO client on a hibernatable WebSocket: the Engine.IO and Socket.IO layers wired to the socket. */
export class Connection implements RoomClient {
  readonly engine: EngineSocket;
  readonly socketIo: SocketIoEndpoint;
  /** Set once the connection has left the room, whichever event noticed first. */
  departed = false;

  constructor(
    readonly ws: WebSocket,
    readonly state: ConnectionState,
    engineOptions: EngineOptions,
    private readonly onDisconnect: (connection: Connection) => void,
  ) {
    this.engine = new EngineSocket(state.engine, { send: (frame) => this.sendFrame(frame), close: (code, reason) => this.closeSocket(code, reason) }, engineOptions);
    this.socketIo = new SocketIoEndpoint(
      state.socketIo,
      { send: (payloads) => this.engine.send(payloads) },
      new PacketDecoder(state.socketIo.protocol),
    );
  }

  get id(): string {
    return this.state.engine.sid;
  }

  /** Tracked here rather than read from `readyState`, which workerd does not report as OPEN before the 101 is returned. */
  get open(): boolean {
    return !this.departed;
  }

  get session(): ClientSession | null {
    return this.state.session;
  }

  get authDeadline(): number | null {
    return this.state.authDeadline;
  }

  startSession(session: ClientSession): void {
    this.state.session = session;
    this.state.authDeadline = null;
    this.save();
  }

  emit(event: ServerEvent, payload: unknown): void {
    if (this.open && this.socketIo.isConnected("/")) this.socketIo.emit("/", [event, payload]);
  }

  /** Sends frames that were encoded once for many connections. */
  sendFrames(frames: readonly Frame[]): void {
    for (const frame of frames) this.sendFrame(frame);
  }

  disconnect(): void {
    if (!this.open) return;
    this.socketIo.disconnect("/");
    this.engine.close(CloseCode.NORMAL, "server disconnect");
  }

  /** Writes the state back to the attachment; callers save after changing it. */
  save(): void {
    if (this.open) this.ws.serializeAttachment(this.state);
  }

  private sendFrame(frame: Frame): void {
    if (!this.open) return;
    try {
      this.ws.send(frame);
    } catch {
      // The peer is gone; its close event removes the connection.
    }
  }

  private closeSocket(code: number, reason: string): void {
    if (this.departed) return;
    try {
      this.ws.close(code, truncateReason(reason));
    } catch {
      // Already closed by the peer.
    }
    this.onDisconnect(this);
  }
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  return bytes.byteLength <= 123 ? reason : new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, "") + "...";
}
