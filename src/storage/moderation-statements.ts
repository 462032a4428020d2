/**
 * The statements that change an app's mutes, bans and slow modes, shared by the admin API (src/storage/d1-admin.ts)
 * and the chat's own commands (src/storage/d1-store.ts), which run them in the batch of their announcement.
 */

/** Mutes user `authId` until `expiresAt` (or changes its mute). */
export function muteStatement(db: D1Database, appId: number, target: { auth_id: number; uname: string }, mutedBy: string, createdAt: number, expiresAt: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO mutes (app_id, auth_id, uname, muted_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT (app_id, auth_id) DO UPDATE SET
         uname = excluded.uname, muted_by = excluded.muted_by,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
    )
    .bind(appId, target.auth_id, target.uname, mutedBy, createdAt, expiresAt);
}

/** Lifts user `authId`'s mute (one row changed if it had one). */
export function unmuteStatement(db: D1Database, appId: number, authId: number): D1PreparedStatement {
  return db.prepare("DELETE FROM mutes WHERE app_id = ?1 AND auth_id = ?2").bind(appId, authId);
}

/** Bans user `authId` (or changes its ban), returning the ban as stored. `expiresAt` null: for good. */
export function banStatement(db: D1Database, appId: number, authId: number, reason: string | null, createdAt: number, expiresAt: number | null): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO bans (app_id, auth_id, reason, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (app_id, auth_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, expires_at = excluded.expires_at
       RETURNING auth_id, reason, created_at, expires_at`,
    )
    .bind(appId, authId, reason, createdAt, expiresAt);
}

/** Lifts user `authId`'s ban if it is in force at `now` (one row changed), else changes nothing. */
export function unbanStatement(db: D1Database, appId: number, authId: number, now: number): D1PreparedStatement {
  return db.prepare("DELETE FROM bans WHERE app_id = ?1 AND auth_id = ?2 AND (expires_at IS NULL OR expires_at > ?3)").bind(appId, authId, now);
}

/** Puts `channel` in slow mode at `intervalMs` (or changes it); null ends it (one row changed if it had one). */
export function slowModeStatement(db: D1Database, appId: number, channel: string, intervalMs: number | null): D1PreparedStatement {
  if (intervalMs === null) return db.prepare("DELETE FROM slow_modes WHERE app_id = ?1 AND channel = ?2").bind(appId, channel);
  return db
    .prepare("INSERT INTO slow_modes (app_id, channel, interval_ms) VALUES (?1, ?2, ?3) ON CONFLICT (app_id, channel) DO UPDATE SET interval_ms = excluded.interval_ms")
    .bind(appId, channel, intervalMs);
}
