/** One JSON line per event, for Workers Logs and `wrangler tail`. Callers never pass tokens. */
export function log(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}

/**
 * Lines of one event within one invocation, bounded: the first `max` are logged in full, the rest only counted,
 * by reason, for one summary line when the invocation ends (`flush`). Workers Logs keeps at most 256 KB of an
 * invocation's logs (src/limits.ts), and one alarm can end thousands of connections.
 */
export class BoundedLog {
  private logged = 0;
  private readonly unlogged = new Map<string, number>();

  constructor(
    private readonly event: string,
    private readonly max: number,
  ) {}

  line(fields: Record<string, unknown> & { reason: string }): void {
    if (this.logged < this.max) {
      this.logged += 1;
      return log(this.event, fields);
    }
    this.unlogged.set(fields.reason, (this.unlogged.get(fields.reason) ?? 0) + 1);
  }

  /** The summary of the lines not logged, if any: how many, and why. */
  flush(fields: Record<string, unknown> = {}): void {
    if (this.unlogged.size === 0) return;
    const count = [...this.unlogged.values()].reduce((sum, each) => sum + each, 0);
    log(`${this.event}_summary`, { ...fields, logged: this.logged, not_logged: count, reasons: Object.fromEntries(this.unlogged) });
    this.unlogged.clear();
  }
}
