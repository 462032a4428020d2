import { runtimeClock, type Runtime } from "../deadline.js";
import { log } from "../log.js";
import { bump, perIpRefusal, type ConnectionLimits } from "../ordering/connection-counts.js";
import type { ConnectionReport, CountedConnections } from "../socketpot/ordering.js";

/** Attempts at counting one report before it is given up (the room is gone for longer than a restart). */
const REPORT_ATTEMPTS = 3;

/**
 * How close to the app's limit a shard stops letting connections in on its own: a twentieth of the limit, so
 * that the opens every shard lets in while its report travels cannot carry the app past it.
 */
const headroom = (maxConnections: number) => Math.ceil(maxConnections / 20);

/**
 * A connection shard's side of its app's connection limits. An address's connections all land on one shard
 * (the Worker picks the shard by address), so the shard counts its limit itself; the app-wide limit is the
 * ordering room's, which counts every shard's opens and closes from reports sent one at a time, what piled up
 * meanwhile going together, instead of a call per connection on the connect path. While the room's last count
 * plus what it has not counted yet is clear of the limit, a connection goes ahead at once; near the limit, and
 * before the room's first count, it waits for the room to decide. The room refuses an open that went ahead
 * only if the shards raced past the headroom, or if the address's connections are split over two shards (the
 * app's shard count changed meanwhile): its shard then closes it, with the reason.
 */
export class ConnectionReporter {
  private opened: ConnectionReport["opened"] = [];
  private closed: string[] = [];
  private sending = false;
  /** The room's last count of the app's connections; null before its first answer. */
  private roomTotal: number | null = null;
  /** Opens the room has not counted yet (waiting or in flight), per address and in all. */
  private readonly uncounted = new Map<string, number>();
  private uncountedTotal = 0;
  /** This shard's open connections per address. */
  private readonly open = new Map<string, number>();
  /** Opens waiting for the room's decision before they go ahead. */
  private readonly deciding = new Map<string, { resolve: (reason: string | null) => void; reject: (error: unknown) => void }>();
  /** Opens the room refused after they went ahead: it never counted them, so their close is not reported. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly count: (report: ConnectionReport) => Promise<CountedConnections>,
    /** Closes a connection that went ahead but that the app's limits refuse. */
    private readonly refuse: (id: string, reason: string) => void,
    /** The shard's open connections per address when it starts reporting (after a wake, those it kept). */
    open: Record<string, number> = {},
    /** Holds the object while a report is on its way. */
    private readonly runtime: Pick<Runtime, "hold"> = runtimeClock,
  ) {
    for (const [ip, count] of Object.entries(open)) bump(this.open, ip, count);
  }

  /**
   * Counts in connection `id` from `ip`: null when it goes ahead at once, else a promise of the room's
   * decision (null, or why the limits refuse it), which rejects when the room cannot be reached.
   */
  admit(id: string, ip: string): null | Promise<string | null> {
    const { maxConnections, maxConnectionsPerIp } = this.limits;
    if ((this.open.get(ip) ?? 0) >= maxConnectionsPerIp) return Promise.resolve(perIpRefusal(maxConnectionsPerIp));
    const ahead = this.roomTotal !== null && this.roomTotal + this.uncountedTotal < maxConnections - headroom(maxConnections);
    bump(this.open, ip, 1);
    this.opened.push({ id, ip });
    this.uncountedTotal += 1;
    bump(this.uncounted, ip, 1);
    this.send();
    if (ahead) return null;
    return new Promise((resolve, reject) => this.deciding.set(id, { resolve, reject }));
  }

  /** Connection `id` from `ip`, which {@link admit} let in, has ended. */
  release(id: string, ip: string): void {
    if (this.refused.delete(id)) return;
    bump(this.open, ip, -1);
    const unsent = this.opened.findIndex((open) => open.id === id);
    if (unsent >= 0) {
      // Not reported yet: neither the open nor the close needs to be.
      this.opened.splice(unsent, 1);
      this.uncountedTotal -= 1;
      bump(this.uncounted, ip, -1);
      return;
    }
    this.closed.push(ip);
    this.send();
  }

  /** Of `open` (open connections per address), those the room has counted. */
  countedOnly(open: Record<string, number>): Record<string, number> {
    const counted: Record<string, number> = {};
    for (const [ip, count] of Object.entries(open)) {
      const left = count - (this.uncounted.get(ip) ?? 0);
      if (left > 0) counted[ip] = left;
    }
    return counted;
  }

  private send(): void {
    if (this.sending) return;
    this.sending = true;
    // After the current turn, so that the opens and closes of one turn go together.
    queueMicrotask(() => this.runtime.hold(this.flush()));
  }

  private async flush(): Promise<void> {
    while (this.opened.length > 0 || this.closed.length > 0) {
      const report: ConnectionReport = { opened: this.opened, closed: this.closed };
      this.opened = [];
      this.closed = [];
      const answer = await this.countWithRetries(report);
      const refusals = new Map(answer?.refused.map(({ id, reason }) => [id, reason]));
      for (const { id, ip } of report.opened) {
        this.uncountedTotal -= 1;
        bump(this.uncounted, ip, -1);
        const reason = refusals.get(id) ?? null;
        const waiter = this.deciding.get(id);
        this.deciding.delete(id);
        // Refused, or never to open (its decision did not come): not one of this shard's connections.
        if (reason !== null || (waiter && !answer)) bump(this.open, ip, -1);
        if (waiter) {
          if (answer) waiter.resolve(reason);
          else waiter.reject(new Error("the app's room did not count the connection"));
        } else if (reason !== null) {
          this.refused.add(id);
          this.refuse(id, reason);
        }
      }
      if (answer) this.roomTotal = answer.total;
    }
    this.sending = false;
  }

  /** The room's count of `report`, tried again after a failure (the room may be restarting); null if it never came. */
  private async countWithRetries(report: ConnectionReport): Promise<CountedConnections | null> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.count(report);
      } catch (error) {
        if (attempt === REPORT_ATTEMPTS) {
          log("connection_report_dropped", { opened: report.opened.length, closed: report.closed.length, error: String(error) });
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }
}
