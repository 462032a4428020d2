import { chunksBySize } from "../chunks.js";
import { runtimeClock, type Runtime } from "../deadline.js";
import { randomId } from "../ids.js";
import { log } from "../log.js";
import { BATCH_BYTES, serializedBytesBound } from "../rpc-bytes.js";
import type { ClientSession } from "../socketpot/directory.js";
import type { FeedItem, FeedMark } from "../socketpot/feed.js";
import type { ConnectionReport, CountedConnections, Ordering, Recovered, ShardClient, ShardLink, ShardSnapshot } from "../socketpot/ordering.js";
import type { RecoveryStore } from "../socketpot/recovery.js";
import { ChatRoom, type Outcome, type RoomHost, type RoomOptions, type ServerEvent } from "../socketpot/room.js";
import type { Audience } from "../socketpot/schemas.js";
import type { ChatStore } from "../socketpot/store.js";
import type { WebhookData, WebhookEventType } from "../webhooks/events.js";
import type { WebhookOutbox } from "../webhooks/outbox.js";
import type { MinuteMetrics, Counter } from "../metrics/minute-metrics.js";
import { ConnectionCounts, type ConnectionLimits } from "./connection-counts.js";

/** The disconnects after which socket.io clients reconnect by themselves: their sessions are kept. */
const RECOVERABLE = new Set(["transport close", "transport error", "ping timeout"]);

/** Attempts at delivering one batch of a shard's feed before it is given up (the shard is gone). */
const FEED_ATTEMPTS = 3;

/**
 * The app's single writer, whichever object hosts it: the {@link ChatRoom}, the recovery log, the app-wide
 * connection counts, and one ordered feed per shard. Each broadcast is logged once and sent to each shard that
 * has a session in its audience, numbered in that shard's feed: O(shards) work per broadcast, however many
 * clients it reaches. Shards call the {@link Ordering} methods; the room calls back through {@link RoomHost}.
 */
export class OrderingCore implements Ordering, RoomHost {
  readonly chat: ChatRoom;
  private readonly counts: ConnectionCounts;
  /** This activation's name: feed numbers start again with it. */
  private readonly epoch = randomId();
  private readonly feeds = new Map<number, ShardFeed>();
  /** Each connection shard's activation when it last answered. */
  private readonly activations = new Map<number, string>();

  constructor(
    appId: number,
    store: ChatStore,
    options: RoomOptions & ConnectionLimits,
    private readonly link: (shard: number) => ShardLink,
    private readonly recovery: RecoveryStore | null,
    private readonly runtime: Runtime = runtimeClock,
    /**
     * Who watches the app: its webhook events on their way to the Queue (none without a Queue bound), and its
     * counts by minute (none outside a Durable Object).
     */
    private readonly observers: { webhooks?: WebhookOutbox | null; counts?: Pick<MinuteMetrics, "count"> | null } = {},
  ) {
    this.counts = new ConnectionCounts(options);
    this.chat = new ChatRoom(appId, store, this, options);
  }

  /**
   * Takes in a shard's connections and sessions as they are: after this room restarted (they are still
   * there), or after the shard's activation changed (those that are gone leave, and are announced). `askedAt`
   * is where the directory was when the snapshot was asked for.
   */
  adopt(shard: number, { activation, sessions, pending, ips }: ShardSnapshot, askedAt = Infinity): void {
    this.activations.set(shard, activation);
    this.counts.replace(shard, ips);
    const present = new Set([...sessions.map((client) => client.id), ...pending]);
    // Only sessions that started before the snapshot was asked for can be missing from it because they are gone:
    // one granted while the snapshot travelled is not in it, and stays.
    for (const id of this.chat.directory.clientsOn(shard, askedAt)) if (!present.has(id)) this.chat.leave({ id, shard, session: this.chat.directory.session(id) });
    for (const client of sessions) if (client.session) this.chat.directory.set(client.id, shard, client.session);
  }

  // Ordering: what shards ask.

  async countConnections(shard: number, { opened, closed }: ConnectionReport): Promise<CountedConnections> {
    // Closes first: a report never closes what it opens (its shard drops both), and they free room for its opens.
    for (const ip of closed) this.counts.release(shard, ip);
    const refused: CountedConnections["refused"] = [];
    for (const { id, ip } of opened) {
      const reason = this.counts.admit(shard, ip);
      if (reason !== null) refused.push({ id, reason });
    }
    return { refused, total: this.counts.total };
  }

  async request(client: ShardClient, event: string | number, payload: unknown): Promise<Outcome<unknown>> {
    const outcome = await this.chat.request(client, event, payload);
    if (outcome.ok && outcome.granted) this.saveForRecovery(client, outcome.granted.session);
    return { ...outcome, after: this.mark(client.shard) };
  }

  /**
   * A session back for a reconnecting client, if its credential still stands (checked before the session is
   * taken, so that nothing broadcast during the check is missed), under a new pid: a pid is good once.
   */
  async recover(client: ShardClient, pid: string, offset: string | null): Promise<Recovered | null> {
    const saved = this.recovery?.peek(pid);
    if (!saved || !this.recovery) return this.unrecovered();
    const session = await this.chat.recheck(saved);
    const restored = this.recovery.take(pid, offset);
    if (!session || !restored) return this.unrecovered();
    const granted = this.chat.rejoin(client, session);
    if (!granted) return this.unrecovered();
    this.count("recovered_sessions");
    const recovery = { pid: randomId(), sid: restored.sid };
    this.saveForRecovery({ ...client, recovery }, granted.session);
    return { ...recovery, granted, missed: restored.missed };
  }

  private unrecovered(): null {
    this.count("unrecovered_sessions");
    return null;
  }

  /**
   * Ends every session that `matches`, on whichever shard it is: each client is told `reason`, then
   * disconnected (and leaves as any client does). Answers how many sessions the shards ended. A shard that cannot
   * be reached keeps its sessions; they end when they next reconnect or time out.
   */
  async endSessions(matches: (session: ClientSession) => boolean, reason: string): Promise<number> {
    const ended = await Promise.all(
      [...this.chat.directory.clientsWhere(matches)].map(([shard, ids]) =>
        Promise.resolve(this.link(shard).end(ids, reason)).catch((error: unknown) => {
          log("end_sessions_failed", { shard, sessions: ids.length, error: String(error) });
          return 0;
        }),
      ),
    );
    return ended.reduce((sum, count) => sum + count, 0);
  }

  async leave(client: ShardClient, reason: string): Promise<void> {
    this.chat.leave(client);
    const ids = client.recovery;
    if (!ids || !this.recovery) return;
    if (client.session && RECOVERABLE.has(reason)) this.recovery.detach(ids.pid, client.id);
    else this.recovery.forget(ids.pid, client.id);
  }

  // RoomHost: what the room asks.

  broadcast(audience: Audience, event: ServerEvent, payload: unknown, exceptId?: string): void {
    const offset = this.recovery?.record(audience, event, payload, exceptId ?? null) ?? null;
    // The items for each shard differ only in their numbers: one bound on their bytes serves every connection
    // shard (the room's own connections take theirs in-process, and need none).
    let bytes: number | undefined;
    for (const shard of this.chat.directory.shards(audience)) {
      const feed = this.feed(shard);
      feed.seq += 1;
      const item: FeedItem = { epoch: this.epoch, seq: feed.seq, offset, audience, event, payload, exceptId: exceptId ?? null };
      feed.push(item, shard === 0 ? 0 : (bytes ??= serializedBytesBound(item)));
    }
  }

  notify(type: WebhookEventType, data: WebhookData): void {
    this.observers.webhooks?.emit(type, data);
  }

  count(counter: Counter, amount = 1): void {
    this.observers.counts?.count(counter, amount);
  }

  /** The app's webhook endpoints changed: the next events go where they say. */
  webhooksChanged(): void {
    this.observers.webhooks?.changed();
  }

  mark(shard: number): FeedMark {
    return { epoch: this.epoch, seq: this.feed(shard).seq, offset: this.recovery?.latest() ?? null };
  }

  now(): number {
    return this.runtime.now();
  }

  later(ms: number, task: () => void): () => void {
    return this.runtime.later(ms, task);
  }

  private feed(shard: number): ShardFeed {
    let feed = this.feeds.get(shard);
    if (!feed) {
      const link = this.link(shard);
      feed = shard === 0 ? new LocalFeed(link) : new RemoteFeed(shard, link, (activation) => this.answered(shard, link, activation), this.runtime);
      this.feeds.set(shard, feed);
    }
    return feed;
  }

  /** A shard took a batch: if it has a new activation since, its connections are checked against a snapshot. */
  private answered(shard: number, link: ShardLink, activation: string): void {
    const known = this.activations.get(shard);
    this.activations.set(shard, activation);
    if (known === undefined || known === activation) return;
    const askedAt = this.chat.directory.changes();
    this.runtime.hold(
      Promise.resolve(link.snapshot()).then(
        (snapshot) => this.adopt(shard, snapshot, askedAt),
        (error: unknown) => log("shard_unreachable", { shard, error: String(error) }),
      ),
    );
  }

  private saveForRecovery(client: ShardClient, session: ClientSession): void {
    if (client.recovery) this.recovery?.save(client.recovery.pid, client.recovery.sid, client.id, session);
  }
}

/** One shard's feed: its broadcasts numbered in order, and sent on. */
interface ShardFeed {
  seq: number;
  /** Sends `item` on; `bytes` bounds what it takes in an RPC ({@link serializedBytesBound}). */
  push(item: FeedItem, bytes: number): void;
}

/** The room's own connections' feed: each broadcast is delivered in the step that made it. */
class LocalFeed implements ShardFeed {
  seq = 0;

  constructor(private readonly link: ShardLink) {}

  push(item: FeedItem): void {
    void this.link.receive([item]);
  }
}

/**
 * A connection shard's feed: the broadcasts of one turn go together as one RPC, with at most one in flight, so
 * the shard receives them in the order they were numbered. What piles up while a batch travels goes next, in
 * batches within {@link BATCH_BYTES} so that each fits in one RPC; a batch that cannot be delivered is tried
 * again, then given up (the shard is gone).
 */
class RemoteFeed implements ShardFeed {
  seq = 0;
  private waiting: FeedItem[] = [];
  /** A bound on the bytes of what waits. */
  private waitingBytes = 0;
  private sending = false;

  constructor(
    private readonly shard: number,
    private readonly link: ShardLink,
    private readonly answered: (activation: string) => void,
    private readonly runtime: Runtime,
  ) {}

  push(item: FeedItem, bytes: number): void {
    this.waiting.push(item);
    this.waitingBytes += bytes;
    if (this.sending) return;
    this.sending = true;
    queueMicrotask(() => this.runtime.hold(this.flush()));
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.nextBatch();
      for (let attempt = 1; ; attempt += 1) {
        try {
          const activation = await this.link.receive(batch);
          if (activation) this.answered(activation);
          break;
        } catch (error) {
          if (attempt === FEED_ATTEMPTS) {
            log("feed_dropped", { shard: this.shard, broadcasts: batch.length, error: String(error) });
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    }
    this.sending = false;
  }

  /** What waits, or (past BATCH_BYTES, which is rare) as much of it from the first as fits. */
  private nextBatch(): FeedItem[] {
    if (this.waitingBytes <= BATCH_BYTES) {
      const batch = this.waiting;
      this.waiting = [];
      this.waitingBytes = 0;
      return batch;
    }
    // Only here is each item measured on its own.
    const sizes = this.waiting.map(serializedBytesBound);
    const [fits = []] = chunksBySize(this.waiting, sizes, BATCH_BYTES);
    this.waiting.splice(0, fits.length);
    this.waitingBytes = sizes.slice(fits.length).reduce((sum, bytes) => sum + bytes, 0);
    return fits;
  }
}
