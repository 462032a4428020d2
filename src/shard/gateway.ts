import { log } from "../log.js";
import { reaches, type ClientSession } from "../socketpot/directory.js";
import { ErrorCode } from "../socketpot/errors.js";
import { isAfter, laterOffset, type FeedItem, type FeedMark } from "../socketpot/feed.js";
import type { Ordering, RecoveryIds, Recovered, ShardClient } from "../socketpot/ordering.js";
import type { Granted, Outcome, ServerEvent } from "../socketpot/room.js";
import { EncodedEvent } from "./broadcast.js";

/** One connection as its shard's gateway sees it, whatever protocol it speaks. */
export interface GatewayClient {
  readonly id: string;
  readonly appId: number;
  /** The shard that holds the connection. */
  readonly shard: number;
  /** False once the connection closed; work that finishes after that must not touch it. */
  readonly open: boolean;
  readonly session: ClientSession | null;
  /** Where in its shard's feed the session started: broadcasts up to it are not for this session. */
  readonly mark: FeedMark | null;
  readonly recovery: RecoveryIds | null;
  /** Sets when the connection is dropped unless it authenticates first (epoch ms). */
  expectAuthBy(deadline: number): void;
  startSession(session: ClientSession, mark: FeedMark): void;
  endSession(): void;
  /** Sends one event to this client alone, stamped with `offset` (connection state recovery) when given. */
  emit(event: ServerEvent, payload: unknown, offset?: string | null): void;
  /** Sends a broadcast, encoded once for every client of the shard. */
  deliver(event: EncodedEvent): void;
  disconnect(): void;
}

/** Why a recovered session that its client never received ends: not a reason that keeps it for recovery. */
const ABANDONED = "left during recovery";

/** How many recent broadcasts a shard keeps, to give a session starting now those that overtook its grant. */
const RECENT_ITEMS = 1_024;

/** How long an answer waits for the broadcasts that preceded it before it goes out regardless. */
const CATCH_UP_MS = 5_000;

const internalError: Outcome<never> = { ok: false, error: ErrorCode.INTERNAL_ERROR, reason: "the server could not complete the request", clientBug: false };

/**
 * A shard's side of its app's room. Requests from the shard's clients go to the ordering room (in-process or
 * over RPC) and their outcomes are applied here: a granted session starts at its feed mark. The ordering
 * room's feed comes in through {@link receive}, each broadcast encoded once and sent to the shard's clients in
 * its audience. A grant and the broadcasts that follow it travel separately, so a session starting here also
 * gets the recent broadcasts after its mark that arrived first, and never those up to it.
 */
export class Gateway {
  private readonly authenticating = new Set<string>();
  private readonly recent: FeedItem[] = [];
  /** The recovery log offset of the latest broadcast this shard received. */
  private latestOffset: string | null = null;
  /** The feed position of the latest broadcast this shard received. */
  private received: FeedMark | null = null;
  /** Answers waiting for the feed to reach their mark. */
  private waiting: Array<{ mark: FeedMark; resume: () => void }> = [];

  constructor(
    /** The ordering room of a client's app. */
    private readonly ordering: (client: GatewayClient) => Ordering,
    private readonly clients: () => Iterable<GatewayClient>,
    private readonly options: { authTimeoutMs: number; now: () => number },
  ) {}

  /** A client joined the protocol (for Socket.IO: connected the main namespace); `auth` is now due. */
  arrive(client: GatewayClient): void {
    if (!client.session) client.expectAuthBy(this.options.now() + this.options.authTimeoutMs);
  }

  /**
   * Handles one client request and gives its outcome to `answer`, which sends it to the client. A granted
   * session starts before the answer goes; the broadcasts after its mark that reached this shard first go right
   * after the answer, never before it (a client reads the history in its answer first, then what came since).
   */
  async request(client: GatewayClient, event: string | number, payload: unknown, answer: (outcome: Outcome<unknown>) => void): Promise<void> {
    const auth = event === "auth";
    const previous = client.session;
    if (auth) this.authenticating.add(client.id);
    let outcome: Outcome<unknown>;
    try {
      try {
        outcome = await this.ordering(client).request(describe(client), event, payload);
      } catch (error) {
        log("request_failed", { sid: client.id, request: String(event).slice(0, 64), error: String(error) });
        outcome = internalError;
      }
      if (outcome.after) await this.caughtUp(outcome.after);
      const since = outcome.ok && outcome.granted && client.open ? this.start(client, outcome.granted, previous) : [];
      answer(outcome);
      for (const event of since) client.deliver(event);
    } finally {
      // Only now: until its session has started, a granted client is pending in this shard's reports.
      if (auth) this.authenticating.delete(client.id);
    }
  }

  /** The session a reconnecting client claims (`pid` and the offset it has), or null for a new session. */
  async recover(client: GatewayClient, pid: string, offset: string | null): Promise<Recovered | null> {
    this.authenticating.add(client.id);
    try {
      return await this.ordering(client).recover(describe(client), pid, offset);
    } catch (error) {
      log("request_failed", { sid: client.id, request: "recover", error: String(error) });
      return null;
    } finally {
      this.authenticating.delete(client.id);
    }
  }

  /** Clients whose auth or recovery is under way: the room may have granted them a session not started yet. */
  pending(): string[] {
    return [...this.authenticating];
  }

  /**
   * A client left while its session was being recovered, before it could be told: the room lets the session go
   * (it was granted under a pid the client never received).
   */
  abandon(client: GatewayClient, recovered: Recovered): void {
    this.tellLeft(client, { ...describe(client), recovery: { sid: recovered.sid, pid: recovered.pid } }, ABANDONED);
  }

  /** Gives a recovered client what it missed, then starts its session. */
  resume(client: GatewayClient, recovered: Recovered): void {
    for (const { event, payload, offset } of recovered.missed) client.emit(event, payload, offset);
    for (const event of this.start(client, recovered.granted, null)) client.deliver(event);
  }

  /** Called once when a client leaves, however it left; its session ends here and at the ordering room. */
  leave(client: GatewayClient, reason: string): void {
    const ref = describe(client);
    if (client.session) client.endSession();
    this.tellLeft(client, ref, reason);
  }

  private tellLeft(client: GatewayClient, ref: ShardClient, reason: string): void {
    this.ordering(client)
      .leave(ref, reason)
      .catch((error: unknown) => log("request_failed", { sid: client.id, request: "leave", error: String(error) }));
  }

  /** The ordering room ended the client's session (a kick, a revoked credential): it is told why, then disconnected. */
  end(client: GatewayClient, reason: string): void {
    client.emit("client_error", reason);
    client.disconnect();
  }

  /** The client's auth deadline passed: it is told why, then disconnected (unless its auth is under way). */
  authExpired(client: GatewayClient): void {
    if (client.session) return;
    if (this.authenticating.has(client.id)) {
      client.expectAuthBy(this.options.now() + 1_000);
      return;
    }
    client.emit("client_error", "auth was not received in time after connecting; send auth as soon as you connect");
    client.disconnect();
  }

  /**
   * Broadcasts from the ordering room, in feed order: each is encoded once and sent to the clients it is for. A
   * batch the room sends again (its first answer was lost) brings broadcasts this shard already has: they are
   * passed over, so no client gets one twice. Answers how many deliveries to a client that made.
   */
  receive(items: FeedItem[]): number {
    let deliveries = 0;
    for (const item of items) {
      if (this.received?.epoch === item.epoch && item.seq <= this.received.seq) continue;
      this.received = item;
      this.recent.push(item);
      if (this.recent.length > RECENT_ITEMS) this.recent.shift();
      this.latestOffset = laterOffset(this.latestOffset, item.offset);
      const encoded = new EncodedEvent(item.event, item.payload, item.offset);
      for (const client of this.clients()) {
        if (client.id !== item.exceptId && reaches(item.audience, client.session) && isAfter(item, client.mark)) {
          client.deliver(encoded);
          deliveries += 1;
        }
      }
    }
    if (this.waiting.length > 0) {
      const due = this.waiting.filter(({ mark }) => this.reached(mark));
      this.waiting = this.waiting.filter((waiter) => !due.includes(waiter));
      for (const { resume } of due) resume();
    }
    return deliveries;
  }

  /** Resolves once this shard has received its feed up to `mark` (the room's own connections always have). */
  private caughtUp(mark: FeedMark): Promise<void> | void {
    if (this.reached(mark)) return;
    return new Promise((resolve) => {
      const waiter = { mark, resume: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        // The broadcasts are late or lost (the room restarted meanwhile): the answer goes out without them.
        this.waiting = this.waiting.filter((other) => other !== waiter);
        log("feed_late", { epoch: mark.epoch, seq: mark.seq });
        resolve();
      }, CATCH_UP_MS);
      this.waiting.push(waiter);
    });
  }

  private reached(mark: FeedMark): boolean {
    return mark.seq === 0 || (this.received?.epoch === mark.epoch && this.received.seq >= mark.seq);
  }

  /** The offset stamped on an event for `client` alone: the latest broadcast that could have reached it. */
  offsetFor(client: GatewayClient): string | null {
    return laterOffset(this.latestOffset, client.mark?.offset ?? null);
  }

  /**
   * Starts a granted session, and returns the broadcasts after its mark that reached this shard before the
   * grant, for the caller to send (unless the session it replaces, a recovered one, already had them).
   */
  private start(client: GatewayClient, { session, mark }: Granted, previous: ClientSession | null): EncodedEvent[] {
    client.startSession(session, mark);
    const later = this.recent.filter((item) => item.epoch === mark.epoch && item.seq > mark.seq);
    if (later.length > 0 && later[0]!.seq !== mark.seq + 1) {
      // The broadcasts right after the mark are no longer kept: the client reconnects and catches up.
      log("feed_gap", { sid: client.id, mark: mark.seq, oldest: later[0]!.seq });
      client.disconnect();
      return [];
    }
    return later
      .filter((item) => client.id !== item.exceptId && reaches(item.audience, session) && !(previous && reaches(item.audience, previous)))
      .map((item) => new EncodedEvent(item.event, item.payload, item.offset));
  }
}

function describe(client: GatewayClient): ShardClient {
  return { id: client.id, shard: client.shard, session: client.session, recovery: client.recovery };
}
