import { parseConfig, type Config, type Env } from "../config.js";
import { durableObjectRuntime, type Runtime } from "../deadline.js";
import { EngineErrorCode, type Refusal } from "../http/errors.js";
import { AppId } from "../http/query.js";
import { MAX_ORIGIN_LENGTH } from "../http/origin-routes.js";
import { randomId } from "../ids.js";
import { log } from "../log.js";
import { MetricsExporter } from "../metrics/export.js";
import { connectionGauges, MinuteMetrics, type Gauge, type MetricsMinute } from "../metrics/minute-metrics.js";
import { metricsSink } from "../metrics/sink.js";
import type { FeedItem } from "../socketpot/feed.js";
import { orderingOf, servedOrderingVersion, type AppOrdering, type Ordering, type ShardSnapshot } from "../socketpot/ordering.js";
import { SocketpotNamespace } from "./socketpot-namespace.js";
import { appOfName, SHARD_COUNT_HEADER } from "../shards.js";
import { APP_ROW_TTL_MS, findApp, type AppRecord } from "../storage/d1-apps.js";
import type { Connection, Stack } from "./connection.js";
import { EngineRoom, type Admitted, type EngineApplication, type EngineQuery, type RoomEngineOptions } from "./engine-room.js";
import { Gateway } from "./gateway.js";
import { PlainApplication } from "./plain-application.js";
import { SocketIoApplication } from "./socket-io-application.js";

/** What one shard holds, for operators. */
export interface ShardLoad {
  shard: number;
  connections: number;
  /** Distinct authenticated users. */
  users: number;
  /** Requests this object took per second over the last minute (HTTP, WebSocket events, alarms, RPC), and in its busiest second. */
  requests_per_second: number;
  peak_requests_per_second: number;
}

/**
 * A Durable Object that holds an app's connections: the Engine.IO server, Socket.IO with Socketpot as its main
 * namespace, and the plain-WebSocket protocol. What needs the app's single writer (auth, chat, limits,
 * recovery) goes through the {@link Gateway} to the app's ordering room; the room's feed comes back through
 * {@link receive}. Subclasses say where the ordering room is: in this object, or another one.
 */
export abstract class SocketpotShard extends EngineRoom<Env> {
  protected readonly engineOptions: RoomEngineOptions;
  protected readonly config: Config;
  /** Time and timers, with work under way after a request held by `ctx.waitUntil`. */
  protected readonly runtime: Runtime;
  protected readonly gateway: Gateway;
  private readonly socketIo: SocketIoApplication;
  private readonly plain: PlainApplication;
  private app: { record: AppRecord; readAt: number } | null = null;
  /**
   * The app's automatic shard count as its room chose it last (the room itself, or a shard told in its batches'
   * answers), passed on to the Worker with each new connection; null while unknown, or the count is fixed.
   */
  protected shardCount: number | null = null;
  /** This object's metrics by minute, in its own storage: its connections, and in the room the app's counters. */
  protected readonly meter: MinuteMetrics;
  /** Exports the metrics for scrapes (and Analytics Engine) once a minute after something happened. */
  private readonly exporter: MetricsExporter | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = parseConfig(env);
    this.runtime = durableObjectRuntime(ctx);
    this.meter = new MinuteMetrics(ctx.storage, this.runtime, () => this.gauges(), () => this.exportLater());
    const appId = appOfName(ctx.id.name);
    this.exporter = appId === null ? null : new MetricsExporter(ctx.storage, this.meter, { appId, name: ctx.id.name! }, metricsSink(env), this.runtime, this.config.metricsExportMs);
    // A new activation samples its gauges soon (connections a restart took away leave no close event behind),
    // and makes sure of the alarm for an export its last activation left due.
    this.meter.changed();
    const due = this.exporter?.due();
    if (due !== undefined && due !== null) this.runtime.hold(this.wakeBy(due));
    this.engineOptions = {
      pingIntervalMs: this.config.pingIntervalMs,
      pingTimeoutMs: this.config.pingTimeoutMs,
      maxPayloadBytes: this.config.maxPayloadBytes,
      connectTimeoutMs: this.config.authTimeoutMs,
      maxConnections: this.config.maxConnectionsPerObject,
    };
    this.gateway = new Gateway((client) => this.ordering(client.appId), () => this.connections(), {
      authTimeoutMs: this.config.authTimeoutMs,
      now: Date.now,
    });
    const main = new SocketpotNamespace(this.gateway, this.config.recoveryWindowMs > 0);
    this.socketIo = new SocketIoApplication({ "/": main }, this.config.authTimeoutMs);
    this.plain = new PlainApplication(this.gateway, this.config.maxPayloadBytes);
  }

  /** The ordering room of app `appId`: this object, or a stub of another. */
  protected abstract orderingRoom(appId: number): AppOrdering;
  /** How a call to the ordering room is made: as it is, or with a deadline. */
  protected reach: <T>(call: Promise<T>) => Promise<T> = (call) => call;
  private readonly orderings = new Map<number, Ordering>();

  /** The app's ordering room, as this shard's connections reach it. */
  protected ordering(appId: number): Ordering {
    let ordering = this.orderings.get(appId);
    if (!ordering) {
      ordering = orderingOf(this.orderingRoom(appId), appId, this.reach);
      this.orderings.set(appId, ordering);
    }
    return ordering;
  }

  /** Which of its app's shards this object is; null when its name is not a shard's. */
  protected abstract shardOf(): number | null;

  /** Names this activation of the object, so that the ordering room notices when it is a new one. */
  private readonly activation = randomId();

  // RPC from the ordering room.

  /** The ordering room's broadcasts for this shard, in feed order; answers with this activation. */
  receive(items: FeedItem[], version?: number): string {
    this.heardFromRoom(version, "receive");
    return this.takeFeed(items);
  }

  /** The feed's broadcasts, however they come (over RPC, or in-process for the room's own connections). */
  protected takeFeed(items: FeedItem[]): string {
    const deliveries = this.gateway.receive(items);
    if (deliveries > 0) this.meter.count("deliveries", deliveries);
    return this.activation;
  }

  /** This object's metrics for each minute from `from` to `to` (epoch ms), for its room to add up. */
  minutes(from: number, to: number, version?: number): MetricsMinute[] {
    this.heardFromRoom(version, "minutes");
    return this.meter.series(from, to);
  }

  /** The alarm comes by the export's time (it wakes a hibernating object, which a timer would keep awake). */
  private exportLater(): void {
    const due = this.exporter?.stored();
    if (due !== undefined) this.runtime.hold(this.wakeBy(due));
  }

  protected override async chores(): Promise<number | null> {
    // Each wake samples the gauges again (only a change is written): what they read may have changed unseen.
    this.meter.changed();
    await this.exporter?.run();
    return this.exporter?.due() ?? null;
  }

  protected override connectionChanged(change: "opened" | "upgraded" | "ended"): void {
    if (change === "opened") this.meter.count("connects");
    else this.meter.changed();
  }

  /** The gauges this object knows: its open connections by transport and by client generation. */
  protected gauges(): Partial<Record<Gauge, number>> {
    return connectionGauges(this.connections());
  }

  /** This shard's connections and sessions, for an ordering room that (re)builds its view of them. */
  snapshot(version?: number): ShardSnapshot {
    this.heardFromRoom(version, "snapshot");
    return this.currentSnapshot();
  }

  protected currentSnapshot(): ShardSnapshot {
    const sessions: ShardSnapshot["sessions"] = [];
    for (const connection of this.connections()) {
      if (connection.session) sessions.push({ id: connection.id, shard: connection.shard, session: connection.session, recovery: connection.recovery });
    }
    return { activation: this.activation, sessions, pending: this.gateway.pending(), ips: this.countedIps(this.openIps()) };
  }

  /**
   * The ordering room ends these sessions (a kick, a revoked credential): each client is told why, then
   * disconnected. Answers how many of them this shard still held.
   */
  endSessions(ids: string[], reason: string, version?: number): number {
    this.heardFromRoom(version, "endSessions");
    return this.closeSessions(ids, reason);
  }

  protected closeSessions(ids: string[], reason: string): number {
    const ending = new Set(ids);
    let ended = 0;
    for (const connection of this.connections()) {
      if (!ending.has(connection.id)) continue;
      this.gateway.end(connection, reason);
      ended += 1;
    }
    return ended;
  }

  /** A call from the ordering room over RPC: one request, of a version this code serves. */
  private heardFromRoom(version: number | undefined, call: string): void {
    this.inbound.count();
    servedOrderingVersion(version, call);
  }

  protected override openingHeaders(): Record<string, string> {
    return this.shardCount === null ? {} : { [SHARD_COUNT_HEADER]: String(this.shardCount) };
  }

  /** This object's open connections per client address. */
  protected openIps(): Record<string, number> {
    const ips: Record<string, number> = {};
    for (const connection of this.connections()) ips[connection.state.ip] = (ips[connection.state.ip] ?? 0) + 1;
    return ips;
  }

  /**
   * Of the open connections per address, those the ordering room has counted (a room that adopts a snapshot
   * counts its connections; those on their way to it in a report would be counted twice).
   */
  protected countedIps(open: Record<string, number>): Record<string, number> {
    return open;
  }

  /** How many connections and distinct users this object holds. */
  load(shard: number, version?: number): ShardLoad {
    this.heardFromRoom(version, "load");
    return this.currentLoad(shard);
  }

  /** What this object holds and takes, for operators. */
  protected currentLoad(shard: number): ShardLoad {
    let connections = 0;
    const users = new Set<number>();
    for (const connection of this.connections()) {
      connections += 1;
      if (connection.session?.user) users.add(connection.session.user.auth_id);
    }
    const { perSecond, peak } = this.inbound.lastMinute();
    return { shard, connections, users: users.size, requests_per_second: perSecond, peak_requests_per_second: peak };
  }

  // The Engine.IO server's questions.

  protected application(stack: Stack): EngineApplication | null {
    if (stack === "socket.io") return this.socketIo;
    return stack === "plain" ? this.plain : null;
  }

  protected async admit(request: Request, query: EngineQuery): Promise<Admitted | Refusal> {
    const appId = AppId.safeParse(query.app_id);
    if (!appId.success) return { status: 400, error: "INVALID_APP_ID", code: EngineErrorCode.BAD_REQUEST, message: "app_id must be a positive integer" };
    const app = await this.findApp(appId.data);
    if (!app) return { status: 404, error: "UNKNOWN_APP", code: EngineErrorCode.BAD_REQUEST, message: `there is no app with id ${appId.data}` };
    const origin = request.headers.get("Origin");
    // Browsers always send Origin; requests without one come from servers and scripts, which no allow-list binds.
    if (origin !== null && app.allowedOrigins.length > 0 && !app.allowedOrigins.includes(origin)) {
      const named = origin.length > MAX_ORIGIN_LENGTH ? `${origin.slice(0, MAX_ORIGIN_LENGTH)}...` : origin;
      return { status: 403, error: "FORBIDDEN_ORIGIN", code: EngineErrorCode.FORBIDDEN, message: `Forbidden: origin ${named} is not allowed for app ${app.id}` };
    }
    const shard = this.shardOf();
    if (shard === null) return { status: 400, error: "INVALID_SHARD", code: EngineErrorCode.BAD_REQUEST, message: "Bad request: no shard named" };
    return { appId: app.id, shard };
  }

  protected async reserveConnection({ appId, shard }: Admitted, ip: string, id: string): Promise<Refusal | null> {
    try {
      const { refused } = await this.ordering(appId).countConnections(shard, { opened: [{ id, ip }], closed: [] });
      return refused.length === 0 ? null : tooManyConnections(refused[0]!.reason);
    } catch (error) {
      return unavailable(appId, shard, error);
    }
  }

  protected releaseConnection(connection: Connection): void {
    this.ordering(connection.appId)
      .countConnections(connection.shard, { opened: [], closed: [connection.state.ip] })
      .catch((error: unknown) => log("request_failed", { app_id: connection.appId, request: "close", error: String(error) }));
  }

  protected override offsetFor(connection: Connection): string | null {
    return this.gateway.offsetFor(connection);
  }

  /** The app's row, read at most once a minute. */
  protected async findApp(appId: number): Promise<AppRecord | null> {
    const now = Date.now();
    if (this.app && this.app.record.id === appId && now - this.app.readAt < APP_ROW_TTL_MS) return this.app.record;
    const record = await findApp(this.env.DB, appId);
    this.app = record ? { record, readAt: now } : null;
    return record;
  }
}

export function tooManyConnections(reason: string): Refusal {
  return { status: 429, error: "TOO_MANY_CONNECTIONS", code: EngineErrorCode.FORBIDDEN, message: reason };
}

export function unavailable(appId: number, shard: number, error: unknown): Refusal {
  log("request_failed", { app_id: appId, shard, request: "open", error: String(error) });
  return { status: 503, error: "UNAVAILABLE", code: EngineErrorCode.BAD_REQUEST, message: "the app's room did not answer; try again" };
}
