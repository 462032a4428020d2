import { accessTokenDigest } from "../../src/credentials.js";
import { OrderingCore } from "../../src/ordering/ordering-core.js";
import type { ShardSnapshot } from "../../src/socketpot/ordering.js";
import type { EncodedEvent } from "../../src/shard/broadcast.js";
import { Gateway, type GatewayClient } from "../../src/shard/gateway.js";
import type { ClientSession } from "../../src/socketpot/directory.js";
import type { FeedItem, FeedMark } from "../../src/socketpot/feed.js";
import type { ChatRoom, Outcome, ServerEvent } from "../../src/socketpot/room.js";
import type { AuthResponse, ChatMessage, User } from "../../src/socketpot/schemas.js";
import type { ChatStore, ChatWrite, TokenGrant } from "../../src/socketpot/store.js";
import type { Counter } from "../../src/metrics/minute-metrics.js";

/** An in-memory ChatStore with the D1 store's semantics, for testing the room's logic without workerd. */
export class MemoryStore implements ChatStore {
  readonly tokens = new Map<string, { appId: number; user: User; expiresAt: number | null; revoked: boolean }>();
  readonly messages: Array<ChatMessage & { appId: number }> = [];
  readonly mutes = new Map<number, number>();
  /** Set to make the next calls fail, as a storage outage would. */
  failing = false;
  reads = 0;

  addToken(token: string, appId: number, user: User, options: { expiresAt?: number; revoked?: boolean } = {}): void {
    this.tokens.set(token, { appId, user, expiresAt: options.expiresAt ?? null, revoked: options.revoked ?? false });
  }

  tokenReads = 0;

  /** While set, token lookups read at once but their callers hear so only when it resolves (a slow D1 reply). */
  grantReply: Promise<void> | null = null;

  /** Looks the digest up as D1 does; tokens are kept in the clear here only to keep test set-up synchronous. */
  async tokenGrant(appId: number, digest: string): Promise<TokenGrant | null> {
    this.check();
    let grant: TokenGrant | null = null;
    for (const [token, entry] of this.tokens) {
      if ((await accessTokenDigest(token)) !== digest) continue;
      grant = entry.appId !== appId || entry.revoked ? null : { user: entry.user, expiresAt: entry.expiresAt };
      break;
    }
    this.tokenReads += 1;
    if (this.grantReply) await this.grantReply;
    return grant;
  }

  /** auth_id → ban expiry (null: for good). */
  readonly bans = new Map<number, number | null>();

  async activeBans(_appId: number, now: number): Promise<Map<number, number | null>> {
    this.check();
    return new Map([...this.bans].filter(([, expiresAt]) => expiresAt === null || expiresAt > now));
  }

  /** channel → slow mode interval (ms). */
  readonly slowMode = new Map<string, number>();

  async slowModes(): Promise<Map<string, number>> {
    this.check();
    return new Map(this.slowMode);
  }

  /** Public JWKs the app signs tokens with, by app. */
  readonly signing = new Map<number, unknown[]>();

  async signingKeys(appId: number): Promise<unknown[]> {
    this.check();
    return this.signing.get(appId) ?? [];
  }

  /** As D1 ranks it (src/storage/d1-store.ts); tokens are in the order they were issued. */
  async moderationTarget(appId: number, uname: string, now: number): Promise<User | null> {
    this.check();
    const tokens = [...this.tokens.values()].filter((entry) => entry.appId === appId).reverse();
    const live = (entry: (typeof tokens)[number]) => !entry.revoked && (entry.expiresAt === null || entry.expiresAt > now);
    const livesFirst = (list: typeof tokens) => [...list.filter(live), ...list.filter((entry) => !live(entry))];
    const named = livesFirst(tokens.filter((entry) => entry.user.uname.toLowerCase() === uname.toLowerCase()))[0];
    if (!named) return null;
    const rank = { OWNER: 3, MOD: 2, MEMBER: 1 };
    const own = tokens.filter((entry) => entry.user.auth_id === named.user.auth_id);
    const ranked = (own.some(live) ? own.filter(live) : own).sort((a, b) => rank[b.user.role] - rank[a.user.role]);
    return { ...named.user, role: ranked[0]!.user.role };
  }

  async recentMessages(appId: number, limit: number): Promise<ChatMessage[]> {
    this.check();
    this.reads += 1;
    return this.messages
      .filter((message) => message.appId === appId)
      .slice(-limit)
      .map(({ appId: _, ...message }) => message);
  }

  async messagesAfter(appId: number, afterId: number, limit: number): Promise<ChatMessage[]> {
    this.check();
    this.reads += 1;
    return this.messages
      .filter((message) => message.appId === appId && message.id > afterId)
      .slice(0, limit)
      .map(({ appId: _, ...message }) => message);
  }

  muteReads = 0;

  async activeMutes(_appId: number, now: number): Promise<Map<number, number>> {
    this.check();
    this.muteReads += 1;
    return new Map([...this.mutes].filter(([, expiresAt]) => expiresAt > now));
  }

  /** While set, writes are committed at once but their callers hear so only when it resolves (a slow D1 reply). */
  writeReply: Promise<void> | null = null;

  async write(appId: number, writes: ChatWrite[]): Promise<ChatMessage[]> {
    this.check();
    const stored = this.commit(appId, writes);
    if (this.writeReply) await this.writeReply;
    return stored;
  }

  private commit(appId: number, writes: ChatWrite[]): ChatMessage[] {
    return writes.map(({ message, moderation }) => {
      if (moderation?.kind === "mute") this.mutes.set(moderation.target.auth_id, moderation.expiresAt);
      if (moderation?.kind === "unmute") this.mutes.delete(moderation.target.auth_id);
      if (moderation?.kind === "ban") this.bans.set(moderation.target.auth_id, moderation.expiresAt);
      if (moderation?.kind === "unban") this.bans.delete(moderation.target.auth_id);
      if (moderation?.kind === "slow_mode" && moderation.intervalMs === null) this.slowMode.delete(moderation.channel);
      if (moderation?.kind === "slow_mode" && moderation.intervalMs !== null) this.slowMode.set(moderation.channel, moderation.intervalMs);
      const stored: ChatMessage = {
        id: this.messages.length + 1,
        channel: message.channel,
        text: message.text,
        created_at: new Date(message.createdAt).toISOString(),
        ...(message.user ? { user: message.user } : {}),
      };
      this.messages.push({ ...stored, appId });
      return stored;
    });
  }

  async deleteMessage(appId: number, messageId: number): Promise<{ channel: string } | null> {
    this.check();
    const index = this.messages.findIndex((message) => message.appId === appId && message.id === messageId);
    if (index < 0) return null;
    const [removed] = this.messages.splice(index, 1);
    return { channel: removed!.channel };
  }

  async deleteMute(_appId: number, authId: number): Promise<boolean> {
    this.check();
    return this.mutes.delete(authId);
  }

  private check(): void {
    if (this.failing) throw new Error("storage unavailable");
  }
}

/** A connection that records what it was sent. */
export class RecordingClient implements GatewayClient {
  session: ClientSession | null = null;
  mark: FeedMark | null = null;
  authDeadline: number | null = 30_000;
  open = true;
  readonly received: Array<{ event: ServerEvent; payload: unknown }> = [];
  readonly appId = 1;
  readonly recovery = null;

  constructor(
    readonly id: string,
    readonly shard = 0,
  ) {}

  expectAuthBy(deadline: number): void {
    this.authDeadline = deadline;
  }

  startSession(session: ClientSession, mark: FeedMark): void {
    this.session = session;
    this.mark = mark;
    this.authDeadline = null;
  }

  endSession(): void {
    this.session = null;
    this.mark = null;
  }

  emit(event: ServerEvent, payload: unknown): void {
    this.received.push({ event, payload });
  }

  deliver(event: EncodedEvent): void {
    this.emit(event.event as ServerEvent, event.payload);
  }

  disconnect(): void {
    this.open = false;
  }

  events(event: ServerEvent): unknown[] {
    return this.received.filter((entry) => entry.event === event).map((entry) => entry.payload);
  }
}

/** The shards' side of a test: recording clients on any shard, and a clock the test moves. */
export class MemoryHost {
  readonly connected: RecordingClient[] = [];
  clock = 1_000_000;

  clients(shard = 0): Iterable<RecordingClient> {
    return this.connected.filter((client) => client.open && client.shard === shard);
  }

  readonly scheduled: Array<{ at: number; task: () => void }> = [];

  later = (ms: number, task: () => void): (() => void) => {
    const entry = { at: this.clock + ms, task };
    this.scheduled.push(entry);
    return () => {
      const index = this.scheduled.indexOf(entry);
      if (index >= 0) this.scheduled.splice(index, 1);
    };
  };

  now = (): number => this.clock;

  /** What the room handed over to be held until done (a Durable Object passes it to `ctx.waitUntil`). */
  readonly held: Array<Promise<unknown>> = [];

  hold = (work: Promise<unknown>): void => {
    this.held.push(work);
  };

  /** Moves the clock and runs what falls due. */
  advance(ms: number): void {
    this.clock += ms;
    const due = this.scheduled.filter((entry) => entry.at <= this.clock);
    this.scheduled.splice(0, this.scheduled.length, ...this.scheduled.filter((entry) => entry.at > this.clock));
    for (const entry of due) entry.task();
  }

  connect(id: string, shard = 0): RecordingClient {
    const client = new RecordingClient(id, shard);
    this.connected.push(client);
    return client;
  }
}

export const USERS = {
  owner: { uname: "owner", auth_id: 1, role: "OWNER" },
  mod: { uname: "mod", auth_id: 2, role: "MOD" },
  alice: { uname: "alice", auth_id: 3, role: "MEMBER" },
  bob: { uname: "bob", auth_id: 4, role: "MEMBER" },
} as const satisfies Record<string, User>;

export const tokenOf = (authId: number) => `00000000-0000-4000-8000-${String(authId).padStart(12, "0")}`;

export const ROOM_OPTIONS = { chatRateBurst: 5, chatRatePerSecond: 1, betsPerSecond: 3, storageTimeoutMs: 10_000, maxConnections: 1_000, maxConnectionsPerIp: 1_000, maxAnonymousSessions: 500 };

/**
 * An app as the Durable Objects run it, without workerd: the real ordering room ({@link OrderingCore} with its
 * {@link ChatRoom}) and one real {@link Gateway} per shard, over recording clients. Each shard's feed is
 * delivered in-process, as to the room's own connections.
 */
export class MemoryApp {
  readonly core: OrderingCore;
  private readonly gateways = new Map<number, Gateway>();

  constructor(
    readonly store: MemoryStore,
    readonly host: MemoryHost,
    appId = 1,
    options: typeof ROOM_OPTIONS = ROOM_OPTIONS,
    /** What the app's counters were given, by counter. */
    readonly counted = new Map<Counter, number>(),
  ) {
    // Shard 0 is the room's own, in-process; the others answer like a connection shard over RPC.
    const link = (shard: number) => ({
      receive: (items: FeedItem[]) => (shard === 0 ? void this.gateway(shard).receive(items) : this.deliver(shard, items)),
      // A snapshot is taken when asked for; a test may hold its answer back (it travels).
      snapshot: () => {
        const taken = this.snapshot(shard);
        return this.snapshotsHeld ? this.snapshotsHeld.then(() => taken) : taken;
      },
      // As SocketpotShard ends sessions: each client told why, then disconnected (and so it leaves).
      end: (ids: string[], reason: string) => {
        const ending = [...this.host.clients(shard)].filter((client) => ids.includes(client.id));
        for (const client of ending) {
          this.gateway(shard).end(client, reason);
          this.gateway(shard).leave(client, "io server disconnect");
        }
        return ending.length;
      },
    });
    const counts = { count: (counter: Counter, amount = 1) => void counted.set(counter, (counted.get(counter) ?? 0) + amount) };
    this.core = new OrderingCore(appId, store, options, link, null, host, { counts });
  }

  /** While set, shards' snapshots are answered only once it settles. */
  snapshotsHeld: Promise<void> | null = null;

  /** Each connection shard's activation; a test that restarts a shard gives it a new one. */
  readonly activations = new Map<number, string>();

  /** Each feed batch a connection shard received, in order; while `deliveriesHeld` is set, they wait for it. */
  readonly deliveries: Array<{ shard: number; items: FeedItem[] }> = [];
  deliveriesHeld: Promise<void> | null = null;

  private async deliver(shard: number, items: FeedItem[]): Promise<string> {
    if (this.deliveriesHeld) await this.deliveriesHeld;
    this.deliveries.push({ shard, items });
    this.gateway(shard).receive(items);
    return this.activations.get(shard) ?? "first";
  }

  /** What shard `shard` reports of its clients, as a connection shard does to its ordering room. */
  snapshot(shard: number): ShardSnapshot {
    const clients = [...this.host.clients(shard)];
    return {
      activation: this.activations.get(shard) ?? "first",
      sessions: clients.map((client) => ({ id: client.id, shard, session: client.session, recovery: null })),
      pending: this.gateway(shard).pending(),
      ips: { "127.0.0.1": clients.length },
    };
  }

  get chat(): ChatRoom {
    return this.core.chat;
  }

  gateway(shard: number): Gateway {
    let gateway = this.gateways.get(shard);
    if (!gateway) {
      gateway = new Gateway(() => this.core, () => this.host.clients(shard), { authTimeoutMs: 30_000, now: this.host.now });
      this.gateways.set(shard, gateway);
    }
    return gateway;
  }

  async request(client: RecordingClient, event: string, payload: unknown): Promise<Outcome<unknown>> {
    let answer: Outcome<unknown> | undefined;
    await this.gateway(client.shard).request(client, event, payload, (outcome) => (answer = outcome));
    return answer!;
  }

  auth(client: RecordingClient, payload: unknown): Promise<Outcome<AuthResponse>> {
    return this.request(client, "auth", payload) as Promise<Outcome<AuthResponse>>;
  }

  newMessage(client: RecordingClient, payload: unknown): Promise<Outcome<ChatMessage>> {
    return this.request(client, "new_message", payload) as Promise<Outcome<ChatMessage>>;
  }

  arrive(client: RecordingClient): void {
    this.gateway(client.shard).arrive(client);
  }

  authExpired(client: RecordingClient): void {
    this.gateway(client.shard).authExpired(client);
  }

  leave(client: RecordingClient, reason = "transport close"): void {
    this.gateway(client.shard).leave(client, reason);
  }

  /** A client that came back through connection state recovery with `session`. */
  rejoin(client: RecordingClient, session: ClientSession): void {
    const ref = { id: client.id, shard: client.shard, session: client.session, recovery: null };
    const granted = this.chat.rejoin(ref, session);
    if (!granted) throw new Error("the room refused the session");
    this.gateway(client.shard).resume(client, { sid: client.id, pid: "pid", granted, missed: [] });
  }
}

export function memoryRoom(appId = 1, options: Partial<typeof ROOM_OPTIONS> = {}) {
  const store = new MemoryStore();
  for (const user of Object.values(USERS)) store.addToken(tokenOf(user.auth_id), appId, user);
  const host = new MemoryHost();
  const room = new MemoryApp(store, host, appId, { ...ROOM_OPTIONS, ...options });
  return { store, host, room, chat: room.chat };
}
