import { parseConfig, type Config, type Env } from "../config.js";
import { EngineErrorCode, type Refusal } from "../http/errors.js";
import { AppId } from "../http/query.js";
import { ChatRoom, reaches, type RoomClient, type RoomHost, type ServerEvent } from "../socketpot/room.js";
import type { Audience } from "../socketpot/schemas.js";
import { SqlRecoveryStore } from "./session-recovery.js";
import { SocketpotNamespace } from "../socketpot/socket-io-namespace.js";
import { findApp, type AppRecord } from "../storage/d1-apps.js";
import { D1ChatStore } from "../storage/d1-store.js";
import type { Connection, Stack } from "../shard/connection.js";
import { EngineRoom, type EngineApplication, type EngineQuery, type RoomEngineOptions } from "../shard/engine-room.js";
import { EventDedup } from "./event-dedup.js";
import type { AppEvent } from "../queue/events.js";
import { SocketIoApplication } from "../shard/socket-io-application.js";
import { PlainApplication } from "../shard/plain-application.js";
import { EncodedEvent } from "../shard/broadcast.js";

/** How long an app's row (existence, allowed origins) is trusted before it is read again. */
const APP_CACHE_MS = 60_000;

/**
 * One Durable Object per app: an Engine.IO server whose Socket.IO main namespace speaks Socketpot, backed by
 * the app's {@link ChatRoom}. Requests are admitted only for an existing app and an allowed origin.
 */
export class AppRoom extends EngineRoom<Env> implements RoomHost {
  protected readonly engineOptions: RoomEngineOptions;
  private readonly config: Config;
  private readonly socketIo: SocketIoApplication;
  private readonly plain: PlainApplication;
  private chatRoom: ChatRoom | null = null;
  private readonly dedup: EventDedup;
  /** Connection state recovery's log and sessions; null when it is switched off. */
  private readonly recovery: SqlRecoveryStore | null;
  /**
   * Test-only seam: the next this-many deliveries fail, as if the object had crashed. Only reachable from
   * tests that hold the instance (`runInDurableObject`); no request or event can set it.
   */
  failNextDeliveries = 0;
  private app: { record: AppRecord; readAt: number } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseConfig(env);
    this.engineOptions = {
      pingIntervalMs: this.config.pingIntervalMs,
      pingTimeoutMs: this.config.pingTimeoutMs,
      maxPayloadBytes: this.config.maxPayloadBytes,
      connectTimeoutMs: this.config.authTimeoutMs,
      maxConnections: this.config.maxConnectionsPerApp,
      maxConnectionsPerIp: this.config.maxConnectionsPerIp,
    };
    const { recoveryWindowMs, recoveryMaxEvents } = this.config;
    this.recovery =
      recoveryWindowMs > 0
        ? new SqlRecoveryStore(ctx.storage.sql, { windowMs: recoveryWindowMs, maxEvents: recoveryMaxEvents }, [...this.connections()].map((c) => c.id))
        : null;
    const main = new SocketpotNamespace((client) => this.roomFor(client.appId), this.recovery);
    this.socketIo = new SocketIoApplication({ "/": main }, this.config.authTimeoutMs);
    this.plain = new PlainApplication((connection) => this.roomFor(connection.appId), this.config.maxPayloadBytes);
    this.dedup = new EventDedup(ctx.storage.sql, this.config.eventDedupWindow);
  }

  protected application(stack: Stack): EngineApplication | null {
    if (stack === "socket.io") return this.socketIo;
    return stack === "plain" ? this.plain : null;
  }

  protected async admit(request: Request, query: EngineQuery): Promise<{ appId: number } | Refusal> {
    const appId = AppId.safeParse(query.app_id);
    if (!appId.success) return { status: 400, error: "INVALID_APP_ID", code: EngineErrorCode.BAD_REQUEST, message: "app_id must be a positive integer" };
    const app = await this.findApp(appId.data);
    if (!app) return { status: 404, error: "UNKNOWN_APP", code: EngineErrorCode.BAD_REQUEST, message: `there is no app with id ${appId.data}` };
    const origin = request.headers.get("Origin");
    // Browsers always send Origin; requests without one come from servers and scripts, which no allow-list binds.
    if (origin !== null && app.allowedOrigins.length > 0 && !app.allowedOrigins.includes(origin)) {
      return { status: 403, error: "FORBIDDEN_ORIGIN", code: EngineErrorCode.FORBIDDEN, message: `Forbidden: origin ${origin} is not allowed for app ${app.id}` };
    }
    return { appId: app.id };
  }

  // RoomHost

  clients(): IterableIterator<Connection> {
    return this.connections();
  }

  broadcast(audience: Audience, event: ServerEvent, payload: unknown, except?: RoomClient): number {
    const offset = this.recovery?.record(audience, event, payload, except?.id ?? null) ?? null;
    const encoded = new EncodedEvent(event, payload, offset);
    let reached = 0;
    for (const connection of this.connections()) {
      if (connection === except || !reaches(audience, connection.session)) continue;
      connection.deliver(encoded);
      reached += 1;
    }
    return reached;
  }

  protected override currentOffset(): string | null {
    return this.recovery?.latest() ?? null;
  }

  now(): number {
    return Date.now();
  }

  later(ms: number, task: () => void): () => void {
    const timer = setTimeout(task, ms);
    return () => clearTimeout(timer);
  }

  /** Admin API: deletes a message of this app and tells CHAT subscribers. */
  async deleteMessage(appId: number, messageId: number): Promise<boolean> {
    return this.roomFor(appId).deleteMessage(messageId);
  }

  /** Admin API: a token was revoked; the room must not trust its cached lookup. */
  async forgetToken(appId: number, token: string): Promise<void> {
    this.roomFor(appId).forgetToken(token);
  }

  /** Admin API: lifts a mute, in storage and in the room's cache. */
  async liftMute(appId: number, authId: number): Promise<boolean> {
    return this.roomFor(appId).liftMute(authId);
  }

  /**
   * Delivers events from the Queue (called over RPC by the consumer). An id seen before, within the
   * de-duplication window, is skipped; the window lives in this object's SQLite storage so it outlives
   * hibernation and restarts. Returns how many events were new.
   */
  async deliver(events: AppEvent[]): Promise<number> {
    if (this.failNextDeliveries > 0) {
      this.failNextDeliveries -= 1;
      throw new Error("injected delivery failure");
    }
    const first = events[0];
    if (!first) return 0;
    const room = this.roomFor(first.app_id);
    let fresh = 0;
    for (const event of events) {
      if (!this.dedup.remember(event.id)) continue;
      fresh += 1;
      if (event.type === "new_bet") room.betPlaced(event.bet);
      else room.balanceChanged(event);
    }
    return fresh;
  }

  /** The room, built on first use; `appId` is the one this object is named after (an object serves one app). */
  private roomFor(appId: number): ChatRoom {
    this.chatRoom ??= new ChatRoom(appId, new D1ChatStore(this.env.DB), this, this.config);
    return this.chatRoom;
  }

  private async findApp(appId: number): Promise<AppRecord | null> {
    const now = Date.now();
    if (this.app && this.app.record.id === appId && now - this.app.readAt < APP_CACHE_MS) return this.app.record;
    const record = await findApp(this.env.DB, appId);
    this.app = record ? { record, readAt: now } : null;
    return record;
  }
}
