import { z } from "zod";
import { isoDate } from "./iso-date.js";
import type { ChatMessage } from "../socketpot/schemas.js";
import { parseAppRow, type AppRecord } from "./d1-apps.js";
import { toChatMessage, MessageRow } from "./d1-store.js";

/** D1 queries of the admin API: apps, and read-only views of messages and mutes (credentials: d1-credentials.ts). */

const MuteRow = z.object({ auth_id: z.number().int(), uname: z.string(), muted_by: z.string(), created_at: z.number(), expires_at: z.number() });

export interface AppView {
  id: number;
  name: string;
  allowed_origins: string[];
  /** The connection shards its connections are spread over (the deployment's default unless set). */
  shards: number;
  created_at: string;
}

export class D1Admin {
  constructor(
    private readonly db: D1Database,
    /** The shard count of apps that set none (`ROOM_SHARDS`). */
    private readonly defaultShards: number,
  ) {}

  appView(app: AppRecord): AppView {
    return { id: app.id, name: app.name, allowed_origins: app.allowedOrigins, shards: app.shards ?? this.defaultShards, created_at: isoDate(app.createdAt) };
  }

  async createApp(name: string, allowedOrigins: string[], now: number): Promise<AppView> {
    const row = await this.db
      .prepare("INSERT INTO apps (name, allowed_origins, created_at) VALUES (?1, ?2, ?3) RETURNING *")
      .bind(name, JSON.stringify(allowedOrigins), now)
      .first();
    return this.appView(parseAppRow(row));
  }

  /** Changes what `change` names of an app; null when there is no such app. */
  async updateApp(appId: number, change: { name?: string | undefined; allowed_origins?: string[] | undefined; shards?: number | undefined }): Promise<AppView | null> {
    const row = await this.db
      .prepare(
        `UPDATE apps SET name = coalesce(?2, name), allowed_origins = coalesce(?3, allowed_origins), shards = coalesce(?4, shards)
         WHERE id = ?1 RETURNING *`,
      )
      .bind(appId, change.name ?? null, change.allowed_origins ? JSON.stringify(change.allowed_origins) : null, change.shards ?? null)
      .first();
    return row ? this.appView(parseAppRow(row)) : null;
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
