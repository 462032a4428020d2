import { z } from "zod";
import { Role, type ChatMessage } from "../socketpot/schemas.js";
import { parseAppRow, type AppRecord } from "./d1-apps.js";
import { toChatMessage, MessageRow } from "./d1-store.js";

/** D1 queries of the admin API: apps, access tokens, and read-only views of messages and mutes. */

const TokenRow = z.object({
  token: z.string(),
  auth_id: z.number().int(),
  uname: z.string(),
  role: Role,
  created_at: z.number(),
  expires_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
});
const MuteRow = z.object({ auth_id: z.number().int(), uname: z.string(), muted_by: z.string(), created_at: z.number(), expires_at: z.number() });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export interface AppView {
  id: number;
  name: string;
  allowed_origins: string[];
  /** The connection shards its connections are spread over (the deployment's default unless set). */
  shards: number;
  created_at: string;
}

function tokenView(row: unknown) {
  const token = TokenRow.parse(row);
  return { ...token, created_at: iso(token.created_at), expires_at: iso(token.expires_at), revoked_at: iso(token.revoked_at) };
}

export class D1Admin {
  constructor(
    private readonly db: D1Database,
    /** The shard count of apps that set none (`ROOM_SHARDS`). */
    private readonly defaultShards: number,
  ) {}

  appView(app: AppRecord): AppView {
    return { id: app.id, name: app.name, allowed_origins: app.allowedOrigins, shards: app.shards ?? this.defaultShards, created_at: new Date(app.createdAt).toISOString() };
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

  async issueToken(appId: number, user: { auth_id: number; uname: string; role: Role }, expiresAt: number | null, now: number) {
    const row = await this.db
      .prepare(
        `INSERT INTO access_tokens (token, app_id, auth_id, uname, role, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING token, auth_id, uname, role, created_at, expires_at, revoked_at`,
      )
      .bind(crypto.randomUUID(), appId, user.auth_id, user.uname, user.role, now, expiresAt)
      .first();
    return tokenView(row);
  }

  /** An app's tokens (of one user when `authId` is given) in token order, `limit` after `after`. */
  async listTokens(appId: number, authId: number | undefined, limit: number, after: string) {
    const { results } = await this.db
      .prepare(
        `SELECT token, auth_id, uname, role, created_at, expires_at, revoked_at FROM access_tokens
         WHERE app_id = ?1 AND (?2 IS NULL OR auth_id = ?2) AND token > ?3 ORDER BY token LIMIT ?4`,
      )
      .bind(appId, authId ?? null, after, limit)
      .all();
    return results.map(tokenView);
  }

  /** Revokes a token; false when the app has no such token. Revoking twice keeps the first time. */
  async revokeToken(appId: number, token: string, now: number): Promise<boolean> {
    const result = await this.db
      .prepare("UPDATE access_tokens SET revoked_at = coalesce(revoked_at, ?3) WHERE app_id = ?1 AND token = ?2")
      .bind(appId, token.toLowerCase(), now)
      .run();
    return result.meta.changes > 0;
  }

  /** The newest messages first, of one channel when given, `limit` older than the id `before`. */
  async listMessages(appId: number, channel: string | undefined, limit: number, before: number): Promise<ChatMessage[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, channel, text, created_at, auth_id, uname, role FROM messages
         WHERE app_id = ?1 AND (?2 IS NULL OR channel = ?2) AND id < ?3 ORDER BY id DESC LIMIT ?4`,
      )
      .bind(appId, channel ?? null, before, limit)
      .all();
    return results.map((row) => toChatMessage(MessageRow.parse(row)));
  }

  async listMutes(appId: number, now: number) {
    const { results } = await this.db
      .prepare("SELECT auth_id, uname, muted_by, created_at, expires_at FROM mutes WHERE app_id = ?1 AND expires_at > ?2 ORDER BY auth_id")
      .bind(appId, now)
      .all();
    return results.map((row) => {
      const mute = MuteRow.parse(row);
      return { ...mute, created_at: iso(mute.created_at), expires_at: iso(mute.expires_at) };
    });
  }
}
