import { chunksBySize, utf8Bytes } from "../chunks.js";
import { runtimeClock, type Later } from "../deadline.js";
import { DO_SQL_VALUE_BYTES } from "../limits.js";
import { serializedBytesBound } from "../rpc-bytes.js";
import { reaches, type ClientSession } from "../socketpot/directory.js";
import type { ServerEvent } from "../socketpot/room.js";
import type { LoggedEvent, RecoveredSession, RecoveryStore } from "../socketpot/recovery.js";
import { Audience, StoredSession } from "../socketpot/schemas.js";
import { RECOVERED_BYTES } from "../socketpot/answer-bounds.js";

export interface RecoveryOptions {
  /** How long a dropped connection's session, and the broadcasts it may have missed, are kept. */
  windowMs: number;
  /** The most broadcasts kept; a client that missed more starts a new session. */
  maxEvents: number;
}

interface SessionRow {
  pid: string;
  sid: string;
  clientId: string;
  /** Stored as JSON text: each flush serializes its rows together. */
  session: SavedSession;
  seq: number;
}

/** What of a session is kept for recovery: its user, its subscriptions, and the digest of the token to check again. */
type SavedSession = Pick<ClientSession, "user" | "subscriptions" | "tokenDigest" | "signedBy">;

/** The most bytes of sessions bound as one string: half of what the storage takes, whatever the sessions hold. */
const WRITE_CHUNK_BYTES = DO_SQL_VALUE_BYTES / 2;

/** How long a saved session may wait before it is written. */
const SAVE_DELAY_MS = 1_000;

/** Pruning runs at most this often; between runs the log may hold a few seconds more than the window. */
const PRUNE_EVERY_MS = 5_000;

/**
 * {@link RecoveryStore} in a Durable Object's SQLite storage. Offsets are the log's row numbers, which
 * AUTOINCREMENT never reuses; the newest row is always kept so that the log knows how far it reaches back.
 * Sessions of connections that are live have no expiry; one is set when the connection drops, or, after a
 * restart that dropped connections without a word, when the room has found which are gone ({@link detachGone}). Broadcasts are written before
 * they are sent (so a restart never loses one a client may have seen); sessions shortly after (see unwritten).
 */
export class SqlRecoveryStore implements RecoveryStore {
  private latestOffset: number | null;
  private prunedAt = 0;
  /**
   * Sessions saved but not yet written. Writing each at its auth would hold that auth's answer until the
   * storage commit (the output gate); they are written together within {@link SAVE_DELAY_MS}, or at once when
   * their connection drops. A restart loses only the sessions of that last moment, which then start anew.
   */
  private readonly unwritten = new Map<string, SessionRow>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly options: RecoveryOptions,
    /** How the write of saved sessions is put off (a Durable Object's runtime holds the object for it). */
    private readonly later: Later = runtimeClock.later,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS recovery_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, audience TEXT NOT NULL, event TEXT NOT NULL,
      payload TEXT NOT NULL, except_id TEXT)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS recovery_sessions (
      pid TEXT PRIMARY KEY, sid TEXT NOT NULL, client_id TEXT NOT NULL, session TEXT NOT NULL, seq INTEGER NOT NULL,
      expires_at INTEGER)`);
    // Pruning finds what is past the window by these, instead of reading every row.
    sql.exec("CREATE INDEX IF NOT EXISTS recovery_sessions_by_expiry ON recovery_sessions (expires_at)");
    sql.exec("CREATE INDEX IF NOT EXISTS recovery_events_by_time ON recovery_events (at)");
    this.latestOffset = sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM recovery_events").one().seq;
  }

  /**
   * After a restart: the sessions of connections that are gone (a restart drops connections without a word)
   * start their recovery window now. `liveClientIds` are the connections that are still there, on any shard.
   */
  detachGone(liveClientIds: Iterable<string>): void {
    const live = new Set(liveClientIds);
    const rows = this.sql.exec<{ pid: string; client_id: string }>("SELECT pid, client_id FROM recovery_sessions WHERE expires_at IS NULL");
    for (const { pid, client_id } of rows.toArray()) if (!live.has(client_id)) this.detach(pid, client_id);
  }

  record(audience: Audience, event: ServerEvent, payload: unknown, exceptId: string | null): string {
    const now = Date.now();
    const { seq } = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO recovery_events (at, audience, event, payload, except_id) VALUES (?, ?, ?, ?, ?) RETURNING seq",
        now,
        JSON.stringify(audience),
        event,
        JSON.stringify(payload),
        exceptId,
      )
      .one();
    this.latestOffset = seq;
    if (now - this.prunedAt >= PRUNE_EVERY_MS) this.prune(now);
    return String(seq);
  }

  latest(): string | null {
    return this.latestOffset === null ? null : String(this.latestOffset);
  }

  save(pid: string, sid: string, clientId: string, session: ClientSession): void {
    const stored: SavedSession = { user: session.user, subscriptions: session.subscriptions };
    if (session.tokenDigest) stored.tokenDigest = session.tokenDigest;
    if (session.signedBy) stored.signedBy = session.signedBy;
    this.unwritten.set(pid, { pid, sid, clientId, session: stored, seq: this.latestOffset ?? 0 });
    if (this.unwritten.size === 1) this.later(SAVE_DELAY_MS, () => this.flush());
  }

  /** Writes the sessions saved since the last write, in one statement. */
  flush(): void {
    if (this.unwritten.size === 0) return;
    this.write([...this.unwritten.values()], null);
    this.unwritten.clear();
  }

  detach(pid: string, clientId: string): void {
    const expiresAt = Date.now() + this.options.windowMs;
    const row = this.unwritten.get(pid);
    if (row?.clientId === clientId) {
      this.unwritten.delete(pid);
      return this.write([row], expiresAt);
    }
    this.sql.exec("UPDATE recovery_sessions SET expires_at = ? WHERE pid = ? AND client_id = ?", expiresAt, pid, clientId);
  }

  forget(pid: string, clientId: string): void {
    if (this.unwritten.get(pid)?.clientId === clientId) this.unwritten.delete(pid);
    this.sql.exec("DELETE FROM recovery_sessions WHERE pid = ? AND client_id = ?", pid, clientId);
  }

  /**
   * Upserts `rows` as few statements as the storage's limit on one bound string allows (a row per statement
   * cost more than the auth's own work; all in one string broke that limit in a reconnect storm).
   */
  private write(rows: SessionRow[], expiresAt: number | null): void {
    for (const chunk of jsonArrays(rows, WRITE_CHUNK_BYTES)) {
      this.sql.exec(
        `INSERT INTO recovery_sessions (pid, sid, client_id, session, seq, expires_at)
         SELECT value ->> 'pid', value ->> 'sid', value ->> 'clientId', value ->> 'session', value ->> 'seq', ? FROM json_each(?) WHERE true
         ON CONFLICT (pid) DO UPDATE SET sid = excluded.sid, client_id = excluded.client_id, session = excluded.session, expires_at = excluded.expires_at`,
        expiresAt,
        chunk,
      );
    }
  }

  peek(pid: string): ClientSession | null {
    const unwritten = this.unwritten.get(pid);
    if (unwritten) return unwritten.session;
    const row = this.sql
      .exec<{ session: string; expires_at: number | null }>("SELECT session, expires_at FROM recovery_sessions WHERE pid = ?", pid)
      .toArray()[0];
    if (!row || (row.expires_at !== null && row.expires_at <= Date.now())) return null;
    const session = StoredSession.safeParse(JSON.parse(row.session));
    return session.success ? savedSession(session.data) : null;
  }

  take(pid: string, offset: string | null): RecoveredSession | null {
    const now = Date.now();
    this.flush();
    // On its schedule, as after a broadcast: claims, real or made up, must not make the room prune each time.
    if (now - this.prunedAt >= PRUNE_EVERY_MS) this.prune(now);
    const row = this.sql
      .exec<{ sid: string; client_id: string; session: string; seq: number; expires_at: number | null }>(
        "DELETE FROM recovery_sessions WHERE pid = ? RETURNING sid, client_id, session, seq, expires_at",
        pid,
      )
      .toArray()[0];
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return null;
    const session = StoredSession.safeParse(JSON.parse(row.session));
    // Without an offset the client has received no broadcast since its session was saved.
    const after = offset === undefined || offset === null ? row.seq : Number(offset);
    const latest = this.latestOffset ?? 0;
    if (!session.success || !Number.isSafeInteger(after) || after < 0 || after > latest) return null;
    // Past the bound the log no longer reaches back, whether or not the next pruning has dropped those rows yet.
    if (after < latest - this.options.maxEvents) return null;
    const { oldest } = this.sql.exec<{ oldest: number | null }>("SELECT min(seq) AS oldest FROM recovery_events").one();
    if (oldest !== null && oldest > after + 1) return null;

    const missed: LoggedEvent[] = [];
    let missedBytes = 0;
    const rows = this.sql.exec<{ seq: number; audience: string; event: string; payload: string; except_id: string | null }>(
      "SELECT seq, audience, event, payload, except_id FROM recovery_events WHERE seq > ? ORDER BY seq",
      after,
    );
    for (const logged of rows) {
      const audience = Audience.parse(JSON.parse(logged.audience));
      if (logged.except_id === row.client_id || !reaches(audience, session.data)) continue;
      const item: LoggedEvent = { offset: String(logged.seq), event: logged.event as ServerEvent, payload: JSON.parse(logged.payload) };
      // What a client missed goes to it in one answer (between objects, one RPC): past the bound it starts anew.
      missedBytes += serializedBytesBound(item);
      if (missedBytes > RECOVERED_BYTES) return null;
      missed.push(item);
    }
    return { sid: row.sid, session: savedSession(session.data), missed };
  }

  /** Drops sessions past their window, and broadcasts older than the window or beyond the bound, but never the newest. */
  private prune(now: number): void {
    this.prunedAt = now;
    this.sql.exec("DELETE FROM recovery_sessions WHERE expires_at <= ?", now);
    if (this.latestOffset === null) return;
    this.sql.exec(
      "DELETE FROM recovery_events WHERE seq < ? AND (at < ? OR seq <= ?)",
      this.latestOffset,
      now - this.options.windowMs,
      this.latestOffset - this.options.maxEvents,
    );
  }
}

/** The part of a stored session that recovery hands back (a stored `recovered` flag is the old connection's). */
function savedSession({ user, subscriptions, tokenDigest, signedBy }: StoredSession): ClientSession {
  return { user, subscriptions, ...(tokenDigest === undefined ? {} : { tokenDigest }), ...(signedBy === undefined ? {} : { signedBy }) };
}

/** `items` as JSON arrays of at most `maxBytes` each (an item larger than that alone), in order. */
function jsonArrays(items: unknown[], maxBytes: number): string[] {
  const json = items.map((item) => JSON.stringify(item));
  // Each item adds a comma (or a bracket) to its array's text.
  const sizes = json.map((text) => utf8Bytes(text) + 1);
  return chunksBySize(json, sizes, maxBytes - 1).map((chunk) => `[${chunk.join(",")}]`);
}
