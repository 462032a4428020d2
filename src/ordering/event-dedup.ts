/**
 * The ids of the latest events a room delivered, in the Durable Object's own SQLite storage: a bounded window
 * that survives hibernation, restarts and deploys, so an event the Queue delivers again is sent to sockets once.
 */
export class EventDedup {
  private ready = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly window: number,
  ) {}

  /** Records `id`; false when it was already there (a replay). */
  remember(id: string): boolean {
    this.prepare();
    const inserted = this.sql.exec("INSERT INTO delivered_events (id) VALUES (?) ON CONFLICT (id) DO NOTHING RETURNING seq", id).toArray().length > 0;
    // Trimming in steps of a tenth keeps the work per event constant while the table stays within 110%.
    if (inserted && this.sql.exec("SELECT max(seq) - min(seq) AS span FROM delivered_events").one()["span"] as number >= this.window * 1.1) {
      this.sql.exec("DELETE FROM delivered_events WHERE seq <= (SELECT max(seq) FROM delivered_events) - ?", this.window);
    }
    return inserted;
  }

  private prepare(): void {
    if (this.ready) return;
    this.sql.exec("CREATE TABLE IF NOT EXISTS delivered_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE)");
    this.ready = true;
  }
}
