import type { Env } from "../config.js";
import { log } from "../log.js";
import { peerPlacement, placedObject } from "../placement.js";
import type { AppEvent } from "../queue/events.js";
import { SocketpotShard, type ShardLoad } from "../shard/socketpot-shard.js";
import { shardName, shardPlanOf } from "../shards.js";
import { saveActiveShards } from "../storage/d1-apps.js";
import type { FeedItem } from "../socketpot/feed.js";
import { linkOf, ORDERING_VERSION, orderingOf, runOrderingCall, servedOrderingVersion } from "../socketpot/ordering.js";
import type { AppOrdering, ConnectionReport, CountedConnections, OrderingBatchAnswer, OrderingCall, OrderingResult, Recovered, ShardClient, ShardLink } from "../socketpot/ordering.js";
import { SessionEnd, type Outcome } from "../socketpot/room.js";
import type { AppEventName, ChatMessage } from "../socketpot/schemas.js";
import { D1ChatStore } from "../storage/d1-store.js";
import { D1Webhooks } from "../storage/d1-webhooks.js";
import type { WebhookDelivery } from "../webhooks/events.js";
import { WebhookOutbox } from "../webhooks/outbox.js";
import { sumSeries, type Gauge, type MetricsMinute } from "../metrics/minute-metrics.js";
import { BalanceVersions } from "./balance-versions.js";
import { BatchPacing } from "./batch-pacing.js";
import { ShardPlanner } from "./shard-planner.js";
import { EventDedup } from "./event-dedup.js";
import { OrderingCore } from "./ordering-core.js";
import { SqlRecoveryStore } from "./session-recovery.js";

/** What an operator sees of an app's spread over its shards. */
export interface AppStats {
  app_id: number;
  /** The shard count new connections are spread over (as the room chose it, for an automatic one). */
  shard_count: number;
  shards: ShardLoad[];
  connections: number;
  /** Distinct authenticated users, app-wide (a user on two shards counts once). */
  users: number;
}

/**
 * An app's room (`app:N`): its ordering room, the single writer of its Socketpot state ({@link OrderingCore}:
 * message ids and D1 writes, mutes, rate limits, token lookups, presence, connection limits, the recovery log),
 * and of the queue's events and the operator's changes. While the app has one shard it also holds every
 * connection itself, in-process, with no hop between the two; with more, new connections go to connection
 * shards that call the methods below over RPC, and connections it already held stay and are served as before.
 */
export class AppRoom extends SocketpotShard implements AppOrdering {
  private core: Promise<OrderingCore> | null = null;
  private readonly dedup: EventDedup;
  private readonly balanceVersions: BalanceVersions;
  private readonly pacing = new BatchPacing();
  private readonly planner: ShardPlanner;
  /** The ordering room once built, for what reads it without waiting (the gauges). */
  private built: OrderingCore | null = null;
  /** The shards new connections are spread over, as the room last planned them (null until it has). */
  private plannedShards: number | null = null;
  /** Connection state recovery's log and sessions; null when it is switched off. */
  private readonly recovery: SqlRecoveryStore | null;
  /** The highest shard number that has held a connection of this app, so a restarted room knows whom to ask. */
  private highestShard: number;
  /**
   * Test-only seam: the next this-many deliveries fail, as if the object had crashed. Only reachable from
   * tests that hold the instance (`runInDurableObject`); no request or event can set it.
   */
  failNextDeliveries = 0;
  /**
   * Test-only seam, likewise: requests wait without an answer, as if the room were unreachable, until the
   * returned function is called.
   */
  stallForTests(): () => void {
    let release = () => {};
    this.stalled = new Promise((resolve) => (release = resolve));
    return () => {
      this.stalled = null;
      release();
    };
  }
  private stalled: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const { recoveryWindowMs, recoveryMaxEvents } = this.config;
    this.recovery =
      recoveryWindowMs > 0 ? new SqlRecoveryStore(ctx.storage.sql, { windowMs: recoveryWindowMs, maxEvents: recoveryMaxEvents }, this.runtime.later) : null;
    this.dedup = new EventDedup(ctx.storage.sql, this.config.eventDedupWindow);
    this.balanceVersions = new BalanceVersions(ctx.storage.sql);
    this.planner = new ShardPlanner(this.config.shardTargetConnections);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS shard_layout (id INTEGER PRIMARY KEY CHECK (id = 0), highest_shard INTEGER NOT NULL)");
    this.highestShard = ctx.storage.sql.exec<{ highest_shard: number }>("SELECT highest_shard FROM shard_layout").toArray()[0]?.highest_shard ?? 0;
  }

  /**
   * The {@link AppOrdering} calls as the room serves them, however they come: over RPC one at a time, in a
   * shard's batch, or in-process from the room's own connections.
   */
  private readonly served: AppOrdering = {
    countConnections: async (appId, shard, report, version) => {
      servedOrderingVersion(version, "countConnections");
      if (shard > this.highestShard) {
        this.highestShard = shard;
        this.ctx.storage.sql.exec("INSERT INTO shard_layout (id, highest_shard) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET highest_shard = excluded.highest_shard", shard);
      }
      const counted = await (await this.ordered(appId)).countConnections(shard, report);
      // Closed connections take their users out of presence: the users gauge reads it.
      if (report.closed.length > 0) this.meter.changed();
      void this.planShards(appId, counted.total);
      return counted;
    },
    request: async (appId, client, event, payload, version) => {
      servedOrderingVersion(version, "request");
      return (await this.ordered(appId)).request(client, event, payload);
    },
    recover: async (appId, client, pid, offset, version) => {
      servedOrderingVersion(version, "recover");
      return (await this.ordered(appId)).recover(client, pid, offset);
    },
    leave: async (appId, client, reason, version) => {
      servedOrderingVersion(version, "leave");
      await (await this.ordered(appId)).leave(client, reason);
      // The users gauge reads presence.
      this.meter.changed();
    },
  };

  // Ordering over RPC, for connection shards: each call counts as one request to this object.

  countConnections(appId: number, shard: number, report: ConnectionReport, version?: number): Promise<CountedConnections> {
    this.inbound.count();
    return this.served.countConnections(appId, shard, report, version);
  }

  request(appId: number, client: ShardClient, event: string | number, payload: unknown, version?: number): Promise<Outcome<unknown>> {
    this.inbound.count();
    return this.served.request(appId, client, event, payload, version);
  }

  recover(appId: number, client: ShardClient, pid: string, offset: string | null, version?: number): Promise<Recovered | null> {
    this.inbound.count();
    return this.served.recover(appId, client, pid, offset, version);
  }

  leave(appId: number, client: ShardClient, reason: string, version?: number): Promise<void> {
    this.inbound.count();
    return this.served.leave(appId, client, reason, version);
  }

  /**
   * A shard's calls in one batch (ordering version 2), started in their order; each answer, or the error it
   * failed with, in the same order. One request to this object, however many calls it carries; the answer also
   * says how far apart the shard is to send its batches ({@link BatchPacing}), and how many users the userlist
   * holds, by which the shard keeps the answers to its next batches within one RPC (src/shard/room-calls.ts).
   */
  async calls(appId: number, shard: number, calls: OrderingCall[], version?: number): Promise<OrderingBatchAnswer> {
    this.inbound.count();
    servedOrderingVersion(version, "calls");
    const spacingMs = this.pacing.batchFrom(shard, Date.now());
    const ordering = orderingOf(this.served, appId);
    const results = await Promise.all(
      calls.map((call) =>
        runOrderingCall(ordering, call).then(
          (value): OrderingResult => ({ ok: true, value }),
          (error: unknown): OrderingResult => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
        ),
      ),
    );
    const usersOnline = (await this.ordered(appId)).chat.directory.usersOnline();
    return { results, spacingMs, shards: this.shardCount, usersOnline };
  }

  // The operator's API.

  /** Deletes a message of this app and tells CHAT subscribers. */
  async deleteMessage(appId: number, messageId: number): Promise<boolean> {
    this.inbound.count();
    return (await this.ordered(appId)).chat.deleteMessage(messageId);
  }

  /**
   * A token was revoked: the room no longer trusts its cached lookup of that digest, and the sessions
   * authenticated with it end. Answers how many ended.
   */
  async forgetToken(appId: number, digest: string): Promise<number> {
    this.inbound.count();
    const core = await this.ordered(appId);
    core.chat.forgetToken(digest);
    return core.endSessions((session) => session.tokenDigest === digest, SessionEnd.TOKEN_REVOKED);
  }

  /** Posts a system message from the app's backend; answers it as stored. */
  async publishMessage(appId: number, channel: string, text: string): Promise<ChatMessage> {
    this.inbound.count();
    return (await this.ordered(appId)).chat.publish(channel, text);
  }

  /** Pushes an event of the app's own to every session of the app, or of user `authId`. */
  async pushEvent(appId: number, event: AppEventName, data: unknown, authId: number | null): Promise<void> {
    this.inbound.count();
    (await this.ordered(appId)).broadcast(authId === null ? { feed: "ALL" } : { feed: "USER", authId }, event, data);
  }

  /**
   * User `authId` was banned (the ban is stored): its auths are refused until `until` (null: for good), and its
   * sessions end now. Answers how many ended.
   */
  async ban(appId: number, authId: number, until: number | null, reason: string | null = null): Promise<number> {
    this.inbound.count();
    const core = await this.ordered(appId);
    await core.chat.ban(authId, until, reason);
    return core.endSessions((session) => session.user?.auth_id === authId, SessionEnd.BANNED);
  }

  /** The app's webhook endpoints changed (in storage): a running room sends its next events where they say. */
  async webhooksChanged(appId: number): Promise<void> {
    this.inbound.count();
    if (this.core) (await this.ordered(appId)).webhooksChanged();
  }

  /** `channel`'s slow mode changed (in storage): a running room holds its MEMBERs to it now. */
  async setSlowMode(appId: number, channel: string, intervalMs: number | null): Promise<void> {
    this.inbound.count();
    if (this.core) await (await this.ordered(appId)).chat.setSlowMode(channel, intervalMs);
  }

  /** User `authId`'s ban was lifted (in storage): the room takes its auths again, and tells the app's webhooks. */
  async unban(appId: number, authId: number): Promise<void> {
    this.inbound.count();
    await (await this.ordered(appId)).chat.unban(authId);
  }

  /**
   * User `authId` was erased from storage (its sessions ended first): the room forgets its tokens, mutes, ban and
   * messages, and clients drop those messages.
   */
  async erase(appId: number, authId: number, messages: Array<{ id: number; channel: string }>, digests: string[]): Promise<void> {
    this.inbound.count();
    await (await this.ordered(appId)).chat.erase(authId, messages, digests);
  }

  /**
   * Ends every session of user `authId`: the app's backend kicked it, or is erasing it (then first, so that it
   * sends nothing more while its messages are deleted). Answers how many ended.
   */
  async disconnectUser(appId: number, authId: number, erasing = false): Promise<number> {
    this.inbound.count();
    return (await this.ordered(appId)).endSessions((session) => session.user?.auth_id === authId, erasing ? SessionEnd.ERASED : SessionEnd.DISCONNECTED);
  }

  /**
   * The app added a signing key, or deleted the one named `deletedKid`: a running room verifies tokens against
   * the keys as they are now, and the sessions authenticated with a deleted key's tokens end.
   */
  async forgetSigningKeys(appId: number, deletedKid: string | null): Promise<number> {
    this.inbound.count();
    // A room that is not running reads the keys when it starts; but a deleted key's sessions may be on shards,
    // which only a running room knows of.
    if (deletedKid === null && !this.core) return 0;
    const core = await this.ordered(appId);
    core.chat.forgetSigningKeys();
    return deletedKid === null ? 0 : core.endSessions((session) => session.signedBy?.kid === deletedKid, SessionEnd.SIGNING_KEY_DELETED);
  }

  /** Lifts a mute, in storage and in the room's cache. */
  async liftMute(appId: number, authId: number): Promise<boolean> {
    this.inbound.count();
    return (await this.ordered(appId)).chat.liftMute(authId);
  }

  /**
   * The scheduled clean-up deleted this app's messages older than `cutoff`; a running room drops them from its
   * history too (one that is not running reads its history from storage when it starts).
   */
  async forgetMessagesBefore(appId: number, cutoff: number): Promise<void> {
    this.inbound.count();
    if (this.core) await (await this.ordered(appId)).chat.forgetMessagesBefore(cutoff);
  }

  /** The app's metrics for each minute from `from` to `to` (epoch ms): this object's and each shard's, added up. */
  async metrics(appId: number, from: number, to: number, shardCount: number): Promise<MetricsMinute[]> {
    this.inbound.count();
    const remote = this.everyShard(appId, shardCount).map(({ stub }) => stub.minutes(from, to, ORDERING_VERSION));
    return sumSeries([this.meter.series(from, to), ...(await Promise.all(remote))]);
  }

  protected override gauges(): Partial<Record<Gauge, number>> {
    const gauges: Partial<Record<Gauge, number>> = super.gauges();
    if (this.built) gauges.users = this.built.chat.directory.users();
    if (this.plannedShards !== null) gauges.shards = this.plannedShards;
    return gauges;
  }

  /** Connections and users on each shard, and app-wide. */
  async stats(appId: number, shardCount: number): Promise<AppStats> {
    this.inbound.count();
    const core = await this.ordered(appId);
    const shards = [this.currentLoad(0)];
    for (const load of await Promise.all(this.everyShard(appId, shardCount).map(({ shard, stub }) => stub.load(shard, ORDERING_VERSION)))) {
      shards.push(load);
    }
    const connections = shards.reduce((sum, shard) => sum + shard.connections, 0);
    return { app_id: appId, shard_count: this.shardCount ?? shardCount, shards, connections, users: core.chat.directory.users() };
  }

  /**
   * Delivers events from the Queue (called over RPC by the consumer). An id seen before, within the
   * de-duplication window, is skipped; the window lives in this object's SQLite storage so it outlives
   * hibernation and restarts; so do the balance versions, by which a balance event older than one already
   * shown is skipped. Returns how many events were delivered.
   */
  async deliver(events: AppEvent[]): Promise<number> {
    this.inbound.count();
    if (this.failNextDeliveries > 0) {
      this.failNextDeliveries -= 1;
      throw new Error("injected delivery failure");
    }
    const first = events[0];
    if (!first) return 0;
    const room = (await this.ordered(first.app_id)).chat;
    let fresh = 0;
    for (const event of events) {
      if (!this.dedup.remember(event.id)) continue;
      if (event.type === "new_bet") room.betPlaced(event.bet);
      else if (this.balanceVersions.advance(event)) room.balanceChanged(event);
      else continue;
      fresh += 1;
    }
    this.meter.count("events_received", events.length);
    this.meter.count("events_delivered", fresh);
    return fresh;
  }

  /**
   * Follows the app's load with its shard count, when the count is automatic: a change is saved for the Worker
   * isolates that have not heard it, and told to the shards in their batches' answers. Only the save is held
   * (`waitUntil`): the plan itself runs on every connection report, almost always on the cached app row, and
   * one held per report was a fresh object's costliest native call after accepting the socket. A plan lost
   * with its object is made again on the next report.
   */
  private async planShards(appId: number, connections: number): Promise<void> {
    const app = await this.findApp(appId).catch(() => null);
    if (!app) return;
    const plan = shardPlanOf(app, this.config.roomShards);
    // A fixed count is the operator's, read from the app's row where it is needed; the room keeps none.
    if (plan.kind === "fixed") {
      this.shardCount = null;
      this.planned(plan.count);
      return;
    }
    const current = this.shardCount ?? plan.count;
    this.shardCount = this.planner.next(plan, current, connections, Date.now());
    this.planned(this.shardCount);
    if (this.shardCount === current) return;
    log("shards_changed", { app_id: appId, from: current, to: this.shardCount, connections });
    this.runtime.hold(
      saveActiveShards(this.env.DB, appId, this.shardCount).catch((error: unknown) =>
        log("request_failed", { app_id: appId, request: "save shards", error: String(error) }),
      ),
    );
  }

  private planned(shards: number): void {
    if (shards === this.plannedShards) return;
    this.plannedShards = shards;
    this.meter.changed();
  }

  // As a shard: the room's own connections reach the ordering room in-process.

  protected orderingRoom(): AppOrdering {
    return this.served;
  }

  protected shardOf(): number {
    return 0;
  }

  /** The ordering room, built on first use after a wake; `appId` is the one this object is named after. */
  private async ordered(appId: number): Promise<OrderingCore> {
    if (this.stalled) await this.stalled;
    this.core ??= this.build(appId);
    return this.core;
  }

  /**
   * Builds the ordering room's state: its own connections as they are, then each connection shard's (asked over
   * RPC), so that presence, limits and feeds are right however long this object was gone. Only then does it
   * take requests.
   */
  private async build(appId: number): Promise<OrderingCore> {
    const { config } = this;
    const core = new OrderingCore(
      appId,
      new D1ChatStore(this.env.DB),
      {
        ...config,
        maxConnections: config.maxConnectionsPerApp,
        maxAnonymousSessions: Math.floor(config.anonymousShare * config.maxConnectionsPerApp),
      },
      (shard) => this.linkTo(appId, shard),
      this.recovery,
      this.runtime,
      { webhooks: this.webhookOutbox(appId), counts: this.meter },
    );
    const local = this.currentSnapshot();
    core.adopt(0, local);
    const live = local.sessions.map((client) => client.id);
    const reports = await Promise.all(
      this.remoteShards(this.highestShard).map(async (shard) => {
        try {
          return { shard, snapshot: await this.shard(appId, shard).snapshot(ORDERING_VERSION) };
        } catch (error) {
          log("shard_unreachable", { app_id: appId, shard, error: String(error) });
          return null;
        }
      }),
    );
    for (const report of reports) {
      if (!report) continue;
      core.adopt(report.shard, report.snapshot);
      live.push(...report.snapshot.sessions.map((client) => client.id));
    }
    this.recovery?.detachGone(live);
    this.built = core;
    this.meter.changed();
    return core;
  }

  /** The app's webhook events go to the webhook Queue, for the endpoints D1 lists (read when first needed). */
  private webhookOutbox(appId: number): WebhookOutbox | null {
    const queue = this.env.WEBHOOKS;
    if (!queue) return null;
    const endpoints = new D1Webhooks(this.env.DB);
    const sink = {
      subscriptions: () => endpoints.subscriptions(appId),
      send: async (deliveries: WebhookDelivery[]) => void (await queue.sendBatch(deliveries.map((body) => ({ body, contentType: "json" as const })))),
    };
    return new WebhookOutbox(appId, sink, this.runtime);
  }

  private linkTo(appId: number, shard: number): ShardLink {
    if (shard === 0) {
      return { receive: (items: FeedItem[]) => void this.takeFeed(items), snapshot: () => this.currentSnapshot(), end: (ids, reason) => this.closeSessions(ids, reason) };
    }
    return linkOf(this.shard(appId, shard));
  }

  private shard(appId: number, shard: number) {
    return placedObject(this.env.SHARDS, peerPlacement(this.ctx.id), shardName(appId, shard));
  }

  /** Each connection shard an operator's read asks: those of the app's shard count, and any that held a connection. */
  private everyShard(appId: number, shardCount: number) {
    return this.remoteShards(Math.max(shardCount, this.highestShard)).map((shard) => ({ shard, stub: this.shard(appId, shard) }));
  }

  /** Shards 1 to `highest`. */
  private remoteShards(highest: number): number[] {
    return Array.from({ length: highest }, (_, index) => index + 1);
  }
}
