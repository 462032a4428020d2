import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { isoDate } from "../iso-date.js";
import type { Jurisdiction, LocationHint } from "../placement.js";
import type { ChatMessage } from "../socketpot/schemas.js";
import { shardPlanOf } from "../shards.js";
import { parseAppRow, type AppRecord } from "./d1-apps.js";
import { toChatMessage, MessageRow } from "./d1-store.js";
import { banStatement, slowModeStatement, unbanStatement, unmuteStatement } from "./moderation-statements.js";

/** D1 queries of the admin API: apps, and read-only views of messages and mutes (credentials: d1-credentials.ts). */

/** The most messages one erasing statement deletes (D1 bills rows, and allows 30 s a query). */
const ERASE_BATCH = 1_000;
const ErasedRow = builtOnFirstUse(() => z.object({ id: z.number().int(), channel: z.string() }));

const BanRow = builtOnFirstUse(() => z.object({ auth_id: z.number().int(), reason: z.string().nullable(), created_at: z.number(), expires_at: z.number().nullable() }));

function banView(row: unknown) {
  const ban = BanRow.parse(row);
  return { ...ban, created_at: isoDate(ban.created_at), expires_at: isoDate(ban.expires_at) };
}

const MuteRow = builtOnFirstUse(() => z.object({ auth_id: z.number().int(), uname: z.string(), muted_by: z.string(), created_at: z.number(), expires_at: z.number() }));

export interface AppView {
  id: number;
  name: string;
  allowed_origins: string[];
  /** The connection shards its new connections are spread over now. */
  shards: number;
  /** "fixed" (its own `shards`, or the deployment's ROOM_SHARDS), or "automatic" (its room follows the load). */
  shard_mode: "fixed" | "automatic";
  /** An automatic count's bounds (null for a fixed one). */
  min_shards: number | null;
  max_shards: number | null;
  /** Days its messages are kept (the deployment's default unless set). */
  retention_days: number;
  jurisdiction: Jurisdiction | null;
  location_hint: LocationHint | null;
  created_at: string;
}

/** What a new app is given; the rest starts at the deployment's defaults. */
export interface NewApp {
  name: string;
  allowed_origins: string[];
  retention_days?: number | undefined;
  jurisdiction?: Jurisdiction | undefined;
  location_hint?: LocationHint | undefined;
}

/** What an app's row leaves to the deployment's vars. */
export interface AppDefaults {
  shards: number | "auto";
  retentionDays: number;
}

export interface AppChange {
  name?: string | undefined;
  allowed_origins?: string[] | undefined;
  /** null: automatic again (or the deployment's ROOM_SHARDS). */
  shards?: number | null | undefined;
  min_shards?: number | null | undefined;
  max_shards?: number | null | undefined;
  /** null: follow the deployment's default again. */
  retention_days?: number | null | undefined;
  /** null: no hint. */
  location_hint?: LocationHint | null | undefined;
}

/** A nullable field of a change, bound as (whether it was sent, its value). */
const nullable = <T>(value: T | null | undefined): [boolean, T | null] => [value !== undefined, value ?? null];

const StorageRow = builtOnFirstUse(() => z.object({ messages: z.number().int(), oldest: z.number().nullable() }));

export class D1Admin {
  constructor(
    private readonly db: D1Database,
    /** What apps that set none follow (`ROOM_SHARDS`, `MESSAGE_RETENTION_DAYS`). */
    private readonly defaults: AppDefaults,
  ) {}

  appView(app: AppRecord): AppView {
    const plan = shardPlanOf(app, this.defaults.shards);
    return {
      id: app.id,
      name: app.name,
      allowed_origins: app.allowedOrigins,
      shards: plan.count,
      shard_mode: plan.kind,
      min_shards: plan.kind === "automatic" ? plan.min : null,
      max_shards: plan.kind === "automatic" ? plan.max : null,
      retention_days: this.retentionOf(app),
      jurisdiction: app.placement.jurisdiction,
      location_hint: app.placement.locationHint,
      created_at: isoDate(app.createdAt),
    };
  }

  async createApp(app: NewApp, now: number): Promise<AppView> {
    const row = await this.db
      .prepare("INSERT INTO apps (name, allowed_origins, retention_days, jurisdiction, location_hint, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING *")
      .bind(app.name, JSON.stringify(app.allowed_origins), app.retention_days ?? null, app.jurisdiction ?? null, app.location_hint ?? null, now)
      .first();
    return this.appView(parseAppRow(row));
  }

  /** Changes what `change` names of an app; null when there is no such app. */
  async updateApp(appId: number, change: AppChange): Promise<AppView | null> {
    const row = await this.db
      .prepare(
        // A field left out stays as it is; one sent as null goes back to its default.
        `UPDATE apps SET name = coalesce(?2, name), allowed_origins = coalesce(?3, allowed_origins),
           shards = CASE WHEN ?4 THEN ?5 ELSE shards END,
           retention_days = CASE WHEN ?6 THEN ?7 ELSE retention_days END,
           min_shards = CASE WHEN ?8 THEN ?9 ELSE min_shards END,
           max_shards = CASE WHEN ?10 THEN ?11 ELSE max_shards END,
           location_hint = CASE WHEN ?12 THEN ?13 ELSE location_hint END
         WHERE id = ?1 RETURNING *`,
      )
      .bind(
        appId,
        change.name ?? null,
        change.allowed_origins ? JSON.stringify(change.allowed_origins) : null,
        ...nullable(change.shards),
        ...nullable(change.retention_days),
        ...nullable(change.min_shards),
        ...nullable(change.max_shards),
        ...nullable(change.location_hint),
      )
      .first();
    return row ? this.appView(parseAppRow(row)) : null;
  }

  /** How many messages an app stores and since when; counting reads each of them once (from `messages_by_app`). */
  async appStorage(app: AppRecord) {
    const row = await this.db
      .prepare(
        `SELECT count(*) AS messages, (SELECT created_at FROM messages WHERE app_id = ?1 ORDER BY id LIMIT 1) AS oldest
         FROM messages WHERE app_id = ?1`,
      )
      .bind(app.id)
      .first();
    const { messages, oldest } = StorageRow.parse(row);
    return { app_id: app.id, messages, oldest_message_at: oldest === null ? null : isoDate(oldest), retention_days: this.retentionOf(app) };
  }

  private retentionOf(app: AppRecord): number {
    return app.retentionDays ?? this.defaults.retentionDays;
  }

  /** The database's size in bytes, as D1 reports it with any query. */
  async databaseBytes(): Promise<number> {
    const { meta } = await this.db.prepare("SELECT 1").run();
    return meta.size_after;
  }

  /** Apps in id order, `limit` after the id `after`. */
  async listApps(limit: number, after: number): Promise<AppView[]> {
    const { results } = await this.db.prepare("SELECT * FROM apps WHERE id > ?1 ORDER BY id LIMIT ?2").bind(after, limit).all();
    return results.map((row) => this.appView(parseAppRow(row)));
  }

  /** The newest messages first, of one channel when given, `limit` older than the id `before`. */
  async listMessages(appId: number, channel: string | undefined, limit: number, before: number): Promise<ChatMessage[]> {
    // Two statements, so that each is served by its index (messages_by_channel, messages_by_app): a filter
    // written as "?2 IS NULL OR channel = ?2" read the app's whole history.
    const columns = "id, channel, text, created_at, auth_id, uname, role";
    const statement =
      channel === undefined
        ? this.db.prepare(`SELECT ${columns} FROM messages WHERE app_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3`).bind(appId, before, limit)
        : this.db
            .prepare(`SELECT ${columns} FROM messages WHERE app_id = ?1 AND channel = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4`)
            .bind(appId, channel, before, limit);
    const { results } = await statement.all();
    return results.map((row) => toChatMessage(MessageRow.parse(row)));
  }

  /**
   * Deletes what the app holds of user `authId`: its messages (at most `maxMessages` in this call, in rows of
   * ERASE_BATCH a statement, found by `messages_by_author`), mutes, bans and access tokens. Answers what went: the
   * messages (id and channel, for the room to tell clients), the tokens' digests (for the room to forget), the
   * counts, and whether messages are left for another call.
   */
  async eraseUser(appId: number, authId: number, maxMessages: number) {
    const messages: Array<{ id: number; channel: string }> = [];
    for (;;) {
      const { results } = await this.db
        .prepare(
          `DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE app_id = ?1 AND auth_id = ?2 LIMIT ?3)
           RETURNING id, channel`,
        )
        .bind(appId, authId, Math.min(ERASE_BATCH, maxMessages - messages.length))
        .all();
      messages.push(...results.map((row) => ErasedRow.parse(row)));
      if (results.length < ERASE_BATCH || messages.length >= maxMessages) break;
    }
    const [mutes, bans, tokens] = await this.db.batch([
      unmuteStatement(this.db, appId, authId),
      this.db.prepare("DELETE FROM bans WHERE app_id = ?1 AND auth_id = ?2").bind(appId, authId),
      this.db.prepare("DELETE FROM access_tokens WHERE app_id = ?1 AND auth_id = ?2 RETURNING digest").bind(appId, authId),
    ]);
    const left = await this.db.prepare("SELECT 1 FROM messages WHERE app_id = ?1 AND auth_id = ?2 LIMIT 1").bind(appId, authId).first();
    return {
      messages,
      digests: (tokens!.results as unknown[]).map((row) => z.object({ digest: z.string() }).parse(row).digest),
      mutes: mutes!.meta.changes,
      bans: bans!.meta.changes,
      unfinished: left !== null,
    };
  }

  /** Puts `channel` in slow mode (or changes its interval). */
  async setSlowMode(appId: number, channel: string, intervalMs: number): Promise<void> {
    await slowModeStatement(this.db, appId, channel, intervalMs).run();
  }

  /** Ends `channel`'s slow mode; false when it had none. */
  async endSlowMode(appId: number, channel: string): Promise<boolean> {
    const result = await slowModeStatement(this.db, appId, channel, null).run();
    return result.meta.changes > 0;
  }

  async listSlowModes(appId: number) {
    const { results } = await this.db.prepare("SELECT channel, interval_ms FROM slow_modes WHERE app_id = ?1 ORDER BY channel").bind(appId).all();
    return results.map((row) => {
      const slow = z.object({ channel: z.string(), interval_ms: z.number().int() }).parse(row);
      return { channel: slow.channel, seconds: slow.interval_ms / 1000 };
    });
  }

  /** Bans a user (or changes its ban); the ban as stored. */
  async ban(appId: number, authId: number, reason: string | null, expiresAt: number | null, now: number) {
    return banView(await banStatement(this.db, appId, authId, reason, now, expiresAt).first());
  }

  /** The bans in force, by auth_id. */
  async listBans(appId: number, now: number) {
    const { results } = await this.db
      .prepare("SELECT auth_id, reason, created_at, expires_at FROM bans WHERE app_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY auth_id")
      .bind(appId, now)
      .all();
    return results.map(banView);
  }

  /** Lifts a ban; false when the user was not banned (or its ban had ended). */
  async unban(appId: number, authId: number, now: number): Promise<boolean> {
    const result = await unbanStatement(this.db, appId, authId, now).run();
    return result.meta.changes > 0;
  }

  async listMutes(appId: number, now: number) {
    const { results } = await this.db
      .prepare("SELECT auth_id, uname, muted_by, created_at, expires_at FROM mutes WHERE app_id = ?1 AND expires_at > ?2 ORDER BY auth_id")
      .bind(appId, now)
      .all();
    return results.map((row) => {
      const mute = MuteRow.parse(row);
      return { ...mute, created_at: isoDate(mute.created_at), expires_at: isoDate(mute.expires_at) };
    });
  }
}
