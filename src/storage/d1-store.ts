import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { Role, type ChatMessage, type User } from "../socketpot/schemas.js";
import { D1Credentials } from "./d1-credentials.js";
import type { ChatStore, ChatWrite, ModerationChange, TokenGrant } from "../socketpot/store.js";
import { banStatement, muteStatement, slowModeStatement, unbanStatement, unmuteStatement } from "./moderation-statements.js";

const UserRow = builtOnFirstUse(() => z.object({ uname: z.string(), auth_id: z.number().int(), role: Role }));

export const MessageRow = builtOnFirstUse(() => z.object({
  id: z.number().int(),
  channel: z.string(),
  text: z.string(),
  created_at: z.number(),
  auth_id: z.number().int().nullable(),
  uname: z.string().nullable(),
  role: Role.nullable(),
}));
type MessageRow = z.infer<typeof MessageRow>;

const MuteRow = builtOnFirstUse(() => z.object({ auth_id: z.number().int(), expires_at: z.number() }));
const BanRow = builtOnFirstUse(() => z.object({ auth_id: z.number().int(), expires_at: z.number().nullable() }));
const SlowModeRow = builtOnFirstUse(() => z.object({ channel: z.string(), interval_ms: z.number().int() }));

/** The chat store on D1; rows are parsed with zod so a schema drift fails loudly instead of leaking to clients. */
export class D1ChatStore implements ChatStore {
  private readonly credentials: D1Credentials;

  constructor(private readonly db: D1Database) {
    this.credentials = new D1Credentials(db);
  }

  tokenGrant(appId: number, digest: string): Promise<TokenGrant | null> {
    return this.credentials.tokenGrant(appId, digest);
  }

  signingKeys(appId: number): Promise<unknown[]> {
    return this.credentials.signingKeys(appId);
  }

  async moderationTarget(appId: number, uname: string, now: number): Promise<User | null> {
    const live = "(revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3))";
    const row = await this.db
      .prepare(
        `WITH named AS (
           SELECT auth_id, uname FROM access_tokens WHERE app_id = ?1 AND uname = ?2 COLLATE NOCASE
           ORDER BY ${live} DESC, created_at DESC LIMIT 1)
         SELECT named.auth_id, named.uname, (
           SELECT role FROM access_tokens WHERE app_id = ?1 AND auth_id = named.auth_id
           ORDER BY ${live} DESC, CASE role WHEN 'OWNER' THEN 3 WHEN 'MOD' THEN 2 ELSE 1 END DESC LIMIT 1) AS role
         FROM named`,
      )
      .bind(appId, uname, now)
      .first();
    return row ? UserRow.parse(row) : null;
  }

  async recentMessages(appId: number, limit: number): Promise<ChatMessage[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, channel, text, created_at, auth_id, uname, role FROM messages
         WHERE app_id = ?1 ORDER BY id DESC LIMIT ?2`,
      )
      .bind(appId, limit)
      .all();
    return results.map((row) => toChatMessage(MessageRow.parse(row))).reverse();
  }

  async messagesAfter(appId: number, afterId: number, limit: number): Promise<ChatMessage[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, channel, text, created_at, auth_id, uname, role FROM messages
         WHERE app_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3`,
      )
      .bind(appId, afterId, limit)
      .all();
    return results.map((row) => toChatMessage(MessageRow.parse(row)));
  }

  async activeMutes(appId: number, now: number): Promise<Map<number, number>> {
    const { results } = await this.db
      .prepare("SELECT auth_id, expires_at FROM mutes WHERE app_id = ?1 AND expires_at > ?2")
      .bind(appId, now)
      .all();
    return new Map(results.map((row) => MuteRow.parse(row)).map((mute) => [mute.auth_id, mute.expires_at]));
  }

  async activeBans(appId: number, now: number): Promise<Map<number, number | null>> {
    const { results } = await this.db
      .prepare("SELECT auth_id, expires_at FROM bans WHERE app_id = ?1 AND (expires_at IS NULL OR expires_at > ?2)")
      .bind(appId, now)
      .all();
    return new Map(results.map((row) => BanRow.parse(row)).map((ban) => [ban.auth_id, ban.expires_at]));
  }

  async slowModes(appId: number): Promise<Map<string, number>> {
    const { results } = await this.db.prepare("SELECT channel, interval_ms FROM slow_modes WHERE app_id = ?1").bind(appId).all();
    return new Map(results.map((row) => SlowModeRow.parse(row)).map((slow) => [slow.channel, slow.interval_ms]));
  }

  async write(appId: number, writes: ChatWrite[]): Promise<ChatMessage[]> {
    const statements: D1PreparedStatement[] = [];
    const inserts: number[] = [];
    for (const { message, moderation } of writes) {
      if (moderation) statements.push(this.moderationStatement(appId, moderation, message.createdAt));
      inserts.push(statements.length);
      statements.push(
        this.db
          .prepare(
            `INSERT INTO messages (app_id, channel, text, created_at, auth_id, uname, role)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id`,
          )
          .bind(
            appId,
            message.channel,
            message.text,
            message.createdAt,
            message.user?.auth_id ?? null,
            message.user?.uname ?? null,
            message.user?.role ?? null,
          ),
      );
    }
    const results = await this.db.batch<{ id: number }>(statements);
    return writes.map(({ message }, index) => {
      const id = results[inserts[index] ?? -1]?.results[0]?.id;
      if (typeof id !== "number") throw new Error("D1 did not return the id of a stored message");
      return toChatMessage({
        id,
        channel: message.channel,
        text: message.text,
        created_at: message.createdAt,
        auth_id: message.user?.auth_id ?? null,
        uname: message.user?.uname ?? null,
        role: message.user?.role ?? null,
      });
    });
  }

  async deleteMessage(appId: number, messageId: number): Promise<{ channel: string } | null> {
    const row = await this.db
      .prepare("DELETE FROM messages WHERE app_id = ?1 AND id = ?2 RETURNING channel")
      .bind(appId, messageId)
      .first<{ channel: string }>();
    return row ? { channel: row.channel } : null;
  }

  async deleteMute(appId: number, authId: number): Promise<boolean> {
    const result = await unmuteStatement(this.db, appId, authId).run();
    return result.meta.changes > 0;
  }

  private moderationStatement(appId: number, change: ModerationChange, now: number): D1PreparedStatement {
    switch (change.kind) {
      case "mute":
        return muteStatement(this.db, appId, change.target, change.by, now, change.expiresAt);
      case "unmute":
        return unmuteStatement(this.db, appId, change.target.auth_id);
      case "ban":
        return banStatement(this.db, appId, change.target.auth_id, change.reason, now, change.expiresAt);
      case "unban":
        return unbanStatement(this.db, appId, change.target.auth_id, now);
      case "slow_mode":
        return slowModeStatement(this.db, appId, change.channel, change.intervalMs);
    }
  }
}

export function toChatMessage(row: MessageRow): ChatMessage {
  const message: ChatMessage = {
    id: row.id,
    channel: row.channel,
    text: row.text,
    created_at: new Date(row.created_at).toISOString(),
  };
  if (row.auth_id !== null && row.uname !== null && row.role !== null) {
    message.user = { uname: row.uname, auth_id: row.auth_id, role: row.role };
  }
  return message;
}
