import type { BalanceEvent } from "../queue/events.js";

/**
 * The highest `version` shown of each user's balance, per event type (the unconfirmed and the confirmed
 * balance are separate figures), in the Durable Object's own SQLite storage so that an older event retried after
 * a restart is still recognised. One row per user and type that ever had a versioned event.
 */
export class BalanceVersions {
  private ready = false;

  constructor(private readonly sql: SqlStorage) {}

  /**
   * Records the event's version; false when a version at least as high was already shown (the event is stale).
   * An event without a version is always shown and changes nothing.
   */
  advance(event: BalanceEvent): boolean {
    if (event.version === undefined) return true;
    this.prepare();
    return (
      this.sql
        .exec(
          `INSERT INTO balance_versions (auth_id, type, version) VALUES (?, ?, ?)
           ON CONFLICT (auth_id, type) DO UPDATE SET version = excluded.version WHERE excluded.version > balance_versions.version
           RETURNING version`,
          event.auth_id,
          event.type,
          event.version,
        )
        .toArray().length > 0
    );
  }

  private prepare(): void {
    if (this.ready) return;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS balance_versions (auth_id INTEGER NOT NULL, type TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (auth_id, type)) WITHOUT ROWID",
    );
    this.ready = true;
  }
}
