import { isCommand, parseCommand, type Command } from "./commands.js";
import type { Duration } from "./duration.js";
import { chatUser, Directory, type ClientSession, type PresenceChange } from "./directory.js";
import { ErrorCode } from "./errors.js";
import type { FeedMark } from "./feed.js";
import { serializedBytesBound } from "../rpc-bytes.js";
import { verifySignedToken } from "../signed-tokens.js";
import { SigningKeys } from "./signing-keys.js";
import { SlowMode } from "./slow-mode.js";
import { RateLimiter } from "./rate-limit.js";
import {
  AuthRequest,
  NewMessageRequest,
  describeIssues,
  quotedEventName,
  PROTOCOL_EVENTS,
  type AppEventName,
  type Audience,
  type AuthResponse,
  type ChatMessage,
  type Subscription,
  type User,
} from "./schemas.js";
import { withDeadline, type ChatStore, type ChatWrite, type TokenGrant } from "./store.js";
import { WriteBatcher } from "./write-batcher.js";
import { accessTokenDigest, looksSigned } from "../credentials.js";
import { isoDate } from "../iso-date.js";
import { log } from "../log.js";
import { BetSampler } from "./bet-sampler.js";
import type { BalanceEvent, Bet } from "../queue/events.js";
import type { WebhookData, WebhookEventType } from "../webhooks/events.js";
import type { Counter } from "../metrics/minute-metrics.js";

export const HISTORY_LENGTH = 100;
/** Why the app ended a client's session, as the client is told (`client_error`) before it is disconnected. */
export const SessionEnd = {
  DISCONNECTED: "the app disconnected this user",
  ERASED: "the app erased this user's data",
  BANNED: "you are banned from this app",
  KICKED: "a moderator disconnected you from the chat",
  TOKEN_REVOKED: "your access token was revoked; authenticate again with a new one",
  SIGNING_KEY_DELETED: "the key that signed your access token was deleted; authenticate again with a new token",
} as const;

/** The most missed messages a resume returns; a client that missed more reloads (`truncated`). */
export const RESUME_LIMIT = 1_000;
/**
 * The most bytes (by {@link serializedBytesBound}) of missed messages a resume returns, beside the count: the
 * answer crosses one RPC from a sharded app's room, among others.
 */
export const RESUME_BYTES = 512 * 1024;
/** How long a token lookup is trusted; revocation through the admin API takes effect at once regardless. */
const TOKEN_CACHE_MS = 60_000;
const TOKEN_CACHE_SIZE = 10_000;

/**
 * A client as the room sees it, wherever its connection is: plain data, so that a shard can send it over RPC.
 * `session` is what the client's shard last started for it.
 */
export interface ClientRef {
  readonly id: string;
  /** The connection shard that holds the client's connection (0: the room's own object). */
  readonly shard: number;
  readonly session: ClientSession | null;
}

/** What a successful `auth` or recovery grants: the session to start, and where in its shard's feed it starts. */
export interface Granted {
  session: ClientSession;
  /** Every broadcast after this mark reaches the session; the ones up to it are in its answer or were not for it. */
  mark: FeedMark;
}

/** What the server sends: the protocol's events, and the app's own that its backend pushes. */
export type ServerEvent = (typeof PROTOCOL_EVENTS)[number] | AppEventName;

/**
 * What the room needs from the object that hosts it: the one seam between the app's single-writer state (this
 * room) and the connection shards that hold its sockets.
 */
export interface RoomHost {
  /** Sends one event to every session in `audience` but `exceptId`'s, on whichever shard it is. */
  broadcast(audience: Audience, event: ServerEvent, payload: unknown, exceptId?: string): void;
  /** Where `shard`'s feed is now; a session started in the same synchronous step gets every later broadcast. */
  mark(shard: number): FeedMark;
  now(): number;
  /** Runs `task` after `ms` (never a timer per connection); the returned function cancels it. */
  later(ms: number, task: () => void): () => void;
  /** Ends every session that `matches`, wherever it is, telling each client `reason`; answers how many ended. */
  endSessions(matches: (session: ClientSession) => boolean, reason: string): Promise<number>;
  /** Hands an event to the app's webhooks, off the room's path (nothing, when no endpoint takes its type). */
  notify(type: WebhookEventType, data: WebhookData): void;
  /** Adds to one of the app's counters of this minute (in memory: stored later, all at once). */
  count(counter: Counter, amount?: number): void;
}

export interface RoomOptions {
  chatRateBurst: number;
  chatRatePerSecond: number;
  /** At most this many bets go to BETS subscribers per second. */
  betsPerSecond: number;
  /** A storage call not answered within this fails (the request gets INTERNAL_ERROR). */
  storageTimeoutMs: number;
  /** The most sessions without a user the app holds at once, so that they can never crowd its users out. */
  maxAnonymousSessions: number;
}

/**
 * The result of a client request. A failure carries the ack error string and a sentence for `client_error`;
 * `clientBug` says whether the client's code (not its user) is at fault, which decides if `client_error` is
 * sent even when the request had an ack.
 */
export type Outcome<T> = (
  | { ok: true; value: T; disconnect?: boolean; granted?: Granted }
  | { ok: false; error: ErrorCode; reason: string; clientBug: boolean; disconnect?: boolean }
) & {
  /**
   * Where the client's shard feed stood when the room answered: the answer goes out only after the broadcasts
   * up to here, so that (as in one object) a sender hears its own message before the ack that confirms it.
   */
  after?: FeedMark;
};

const clientBug = (error: ErrorCode, reason: string, disconnect = false): Outcome<never> => ({
  ok: false,
  error,
  reason,
  clientBug: true,
  disconnect,
});
const refused = (error: ErrorCode, reason: string): Outcome<never> => ({ ok: false, error, reason, clientBug: false });
const internalError: Outcome<never> = refused(ErrorCode.INTERNAL_ERROR, "the server could not complete the request");
const bannedUser = (until: number | null): Outcome<never> => ({
  ...refused(ErrorCode.USER_IS_BANNED, until === null ? SessionEnd.BANNED : `${SessionEnd.BANNED} until ${new Date(until).toISOString()}`),
  disconnect: true,
});
const tooManyAnonymous = (max: number): Outcome<never> => ({
  ...refused(ErrorCode.TOO_MANY_CONNECTIONS, `this app holds ${max} connections without a user, its most; authenticate with an access_token, or try again later`),
  disconnect: true,
});

/**
 * The Socketpot protocol of one app, independent of the wire and of where connections are: auth, chat,
 * presence, moderation and rate limits. Shards turn frames into calls here and {@link Outcome}s into acks and
 * events; a successful auth grants a session that the client's shard starts.
 */
export class ChatRoom {
  /** Every session of the app, on every shard: presence, and where broadcasts go. */
  readonly directory = new Directory();
  private readonly rateLimiter: RateLimiter<number>;
  private readonly writer: WriteBatcher<ChatWrite, ChatMessage>;
  private readonly authenticating = new Set<string>();
  /** Clients that left while their auth was under way: the auth must not start a session for them. */
  private readonly abandoned = new Set<string>();
  /**
   * Token lookups by digest, so that a warm auth reads nothing from storage and the room holds no token;
   * revocations come through forgetToken.
   */
  private readonly grants = new Map<string, { grant: TokenGrant | null; readAt: number }>();
  /** How many tokens were forgotten: a lookup that a revocation overtook is used once, not kept. */
  private forgotten = 0;
  /** Digests of tokens revoked since this room started (few: each is an operator's act). */
  private readonly revoked = new Set<string>();
  private readonly bets: BetSampler;
  /** The app's keys for tokens it signs. */
  private readonly signingKeys: SigningKeys;
  /** The latest messages, read once per wake and then kept current by {@link storeWrites}. */
  private readonly history = new StoredOnce(() => this.store.recentMessages(this.appId, HISTORY_LENGTH));
  /** auth_id → mute expiry, read once per wake and then kept current by commands and the admin API. */
  private readonly mutes = new StoredOnce(() => this.store.activeMutes(this.appId, this.host.now()));
  /** channel → slow mode interval (ms), read once per wake and then kept current by the admin API. */
  private readonly slowModes = new StoredOnce(() => this.store.slowModes(this.appId));
  private readonly slowMode = new SlowMode();
  /** auth_id → ban expiry (null: for good), read once per wake and then kept current by the admin API. */
  private readonly bans = new StoredOnce(() => this.store.activeBans(this.appId, this.host.now()));

  private readonly store: ChatStore;

  constructor(
    readonly appId: number,
    store: ChatStore,
    private readonly host: RoomHost,
    private readonly options: RoomOptions,
  ) {
    this.store = withDeadline(store, options.storageTimeoutMs, host);
    this.rateLimiter = new RateLimiter(options.chatRateBurst, options.chatRatePerSecond);
    this.writer = new WriteBatcher((writes) => this.storeWrites(writes));
    this.bets = new BetSampler(options.betsPerSecond);
    this.signingKeys = new SigningKeys(() => this.store.signingKeys(this.appId), () => host.now());
  }

  /** Handles one client request by event name; every protocol enters the room here. */
  async request(client: ClientRef, event: string | number, payload: unknown): Promise<Outcome<unknown>> {
    const outcome = await this.answer(client, event, payload);
    this.countOutcome(client, event, payload, outcome);
    return outcome;
  }

  /**
   * Counts what a request came to: a session started (not the auth of a session recovered a moment ago, which
   * was counted as recovered) or an auth refused; a message taken, rate-limited or refused. The server's own
   * failures (INTERNAL_ERROR) and a repeated auth count as none of these.
   */
  private countOutcome(client: ClientRef, event: string | number, payload: unknown, outcome: Outcome<unknown>): void {
    if (!outcome.ok && (outcome.error === ErrorCode.INTERNAL_ERROR || outcome.error === ErrorCode.ALREADY_AUTHENTICATED)) return;
    if (event === "auth") {
      const tokenGrantedNothing = outcome.ok && !(outcome.value as AuthResponse).user && typeof (payload as { access_token?: unknown } | null)?.access_token === "string";
      if (!outcome.ok || tokenGrantedNothing) this.host.count("auth_failures");
      if (outcome.ok && outcome.granted && !client.session?.recovered) this.host.count("sessions_started");
    } else if (event === "new_message") {
      this.host.count(outcome.ok ? "chat_messages" : outcome.error === ErrorCode.RATE_LIMITED ? "rate_limited" : "refused_messages");
    }
  }

  private answer(client: ClientRef, event: string | number, payload: unknown): Promise<Outcome<unknown>> {
    if (event === "auth") return this.auth(client, payload);
    if (!client.session) {
      return Promise.resolve(
        clientBug(ErrorCode.UNAUTHENTICATED, `${quotedEventName(event)} was sent before a successful auth; emit auth first and wait for its callback`),
      );
    }
    if (event === "new_message") return this.newMessage(client, payload);
    return Promise.resolve(clientBug(ErrorCode.UNKNOWN_EVENT, `unknown event ${quotedEventName(event)}; the protocol has auth and new_message (chat)`));
  }

  async auth(client: ClientRef, payload: unknown): Promise<Outcome<AuthResponse>> {
    if ((client.session && !client.session.recovered) || this.authenticating.has(client.id)) {
      return clientBug(ErrorCode.ALREADY_AUTHENTICATED, "this connection already sent auth; send it once per connection");
    }
    const parsed = AuthRequest.safeParse(payload);
    if (!parsed.success) return clientBug(ErrorCode.INVALID_AUTH, `invalid auth request: ${describeIssues(parsed.error)}`, true);
    const request = parsed.data;
    if (request.app_id !== this.appId) {
      return clientBug(
        ErrorCode.INVALID_AUTH,
        `auth app_id ${request.app_id} does not match the app_id ${this.appId} this connection was opened with`,
        true,
      );
    }

    this.authenticating.add(client.id);
    try {
      // A user's auth checks its bans, read once per wake: beside its token, not after it.
      if (request.access_token) this.bans.get().catch(() => {});
      const found = request.access_token ? await this.credentialOf(request.access_token) : null;
      // A revocation that came while the token was read holds: the token grants nothing, now or later.
      const credential = found?.proof.tokenDigest !== undefined && this.revoked.has(found.proof.tokenDigest) ? null : found;
      const user = credential?.user ?? null;
      // A user may chat next: the mutes its first message is checked against are read now, beside the history,
      // rather than in front of that message (where the first message after a wake paid a storage read).
      if (user) {
        this.mutes.get().catch(() => {});
        this.slowModes.get().catch(() => {});
      }
      const subscriptions = user ? request.subscriptions : request.subscriptions.filter((name) => name !== "DEPOSITS");
      const response: AuthResponse = { subscriptions };
      if (user) response.user = user;
      const chat = subscriptions.includes("CHAT");
      const resumeFrom = request.resume_from ?? null;
      // A session recovered with CHAT has every message already (what it missed came at its reconnect, the rest
      // live): a resume adds nothing, whatever the client thinks (socket.recovered reads false, as the pid changed).
      const caughtUp = resumeFrom !== null && client.session?.recovered === true && client.session.subscriptions.includes("CHAT");
      // Only users resume from storage: an anonymous client's resume stays within the history, which costs no read.
      const older = chat && resumeFrom !== null && !caughtUp ? (user ? await this.olderThanHistory(resumeFrom) : null) : [];
      // A ban that came while this auth waited on storage found no session to end: it holds here.
      const banned = user ? await this.bannedUntil(user.auth_id) : undefined;
      if (banned !== undefined) return bannedUser(banned);
      // The last await: from the history read to the session's registration and feed mark nothing else runs,
      // so a message stored meanwhile is either in this response or broadcast to the session afterwards (see
      // storeWrites), never both or neither.
      const history = chat ? await this.history.get() : null;
      const missed = history && (caughtUp ? { messages: [], truncated: false } : missedMessages(history, resumeFrom, older));
      if (this.abandoned.delete(client.id)) return internalError;
      if (subscriptions.length === 0) return { ok: true, value: response, disconnect: true };
      const session: ClientSession = credential ? { user: credential.user, subscriptions, ...credential.proof } : { user: null, subscriptions };
      if (this.anonymousRefused(client, session)) return tooManyAnonymous(this.options.maxAnonymousSessions);

      // A recovered session is replaced: presence changes only if the user or its CHAT subscription did.
      const granted = this.grant(client, session);
      if (missed) response.chat = { messages: missed.messages, userlist: this.directory.userlist(), ...(missed.truncated ? { truncated: true as const } : {}) };
      return { ok: true, value: response, granted };
    } catch (error) {
      log("request_failed", { app_id: this.appId, sid: client.id, request: "auth", error: String(error) });
      return internalError;
    } finally {
      this.authenticating.delete(client.id);
      this.abandoned.delete(client.id);
    }
  }

  async newMessage(client: ClientRef, payload: unknown): Promise<Outcome<ChatMessage>> {
    const user = client.session?.user;
    if (!user) {
      return clientBug(ErrorCode.FORBIDDEN, "anonymous connections cannot send messages; authenticate with a valid access_token");
    }
    const parsed = NewMessageRequest.safeParse(payload);
    if (!parsed.success) return clientBug(ErrorCode.INVALID_MESSAGE, `invalid new_message: ${describeIssues(parsed.error)}`);
    const { channel, text } = parsed.data;
    const now = this.host.now();
    const ended = await this.ended(client.session!);
    if (ended) return ended;

    if (!this.rateLimiter.take(user.auth_id, now)) {
      return refused(ErrorCode.RATE_LIMITED, "too many messages; wait a moment before sending again");
    }
    try {
      const mutedUntil = (await this.mutes.get()).get(user.auth_id);
      if (mutedUntil !== undefined && mutedUntil > now) {
        return refused(ErrorCode.USER_IS_MUTED, `you are muted until ${new Date(mutedUntil).toISOString()}`);
      }
      const interval = user.role === "MEMBER" ? (await this.slowModes.get()).get(channel) : undefined;
      const wait = interval === undefined ? 0 : this.slowMode.take(user.auth_id, channel, interval, now);
      if (wait > 0) {
        return refused(ErrorCode.RATE_LIMITED, `slow mode in ${channel}: one message every ${interval! / 1000} s; wait ${Math.ceil(wait / 1000)} s`);
      }
      if (isCommand(text)) return await this.runCommand(user, channel, text);
      return { ok: true, value: await this.writer.submit({ message: { channel, text, createdAt: now, user } }) };
    } catch (error) {
      log("request_failed", { app_id: this.appId, sid: client.id, request: "new_message", error: String(error) });
      return internalError;
    }
  }

  /**
   * An operator revoked the token with this digest: the next auth with it reads storage again, and a session it
   * authenticated that is still here (its shard could not be reached, or it was granted meanwhile) is refused.
   */
  forgetToken(digest: string): void {
    this.grants.delete(digest);
    this.forgotten += 1;
    this.revoked.add(digest);
  }

  /**
   * Why a session may no longer act, though it was granted: its user was banned, or its token revoked, after it
   * was checked. Null when it stands. (Ending such sessions is the shards' part; this holds when one did not.)
   */
  private async ended(session: ClientSession): Promise<Outcome<never> | null> {
    if (!session.user) return null;
    const banned = await this.bannedUntil(session.user.auth_id);
    if (banned !== undefined) return bannedUser(banned);
    if (session.tokenDigest && this.revoked.has(session.tokenDigest)) return { ...refused(ErrorCode.FORBIDDEN, SessionEnd.TOKEN_REVOKED), disconnect: true };
    return null;
  }

  /**
   * The user an access token stands for now, and what a recovered session is checked against later: a token the
   * app signed is verified with the app's keys (cached: no storage read while they are fresh); a UUID token is
   * looked up by its digest. Null for a token that grants nothing (unknown, revoked, expired, a failed check).
   */
  private async credentialOf(token: string): Promise<{ user: User; proof: Pick<ClientSession, "tokenDigest" | "signedBy"> } | null> {
    if (looksSigned(token)) {
      const grant = await verifySignedToken(token, this.appId, (kid) => this.signingKeys.keyOf(kid), this.host.now());
      return grant && { user: grant.user, proof: { signedBy: { kid: grant.kid, expiresAt: grant.expiresAt } } };
    }
    const tokenDigest = await accessTokenDigest(token);
    const user = await this.userOf(tokenDigest);
    return user && { user, proof: { tokenDigest } };
  }

  /** When user `authId`'s ban ends (null: never), or undefined when it is not banned. */
  private async bannedUntil(authId: number): Promise<number | null | undefined> {
    const bans = await this.bans.get();
    if (!bans.has(authId)) return undefined;
    const until = bans.get(authId)!;
    if (until !== null && until <= this.host.now()) {
      bans.delete(authId);
      return undefined;
    }
    return until;
  }

  /**
   * The app banned user `authId` (stored already): its next auths are refused until `until` (null: for good).
   * Like every change below that storage already holds, it updates only what this room has read (or is reading):
   * what it has not read it will read with the change in it.
   */
  async ban(authId: number, until: number | null, reason: string | null = null): Promise<void> {
    (await this.bans.ifRead())?.set(authId, until);
    this.host.notify("user.banned", { auth_id: authId, uname: null, expires_at: isoDate(until), reason, by: null });
  }

  /**
   * The app erased user `authId` (its messages, mutes, bans and tokens are gone from storage): the room forgets
   * them too, and clients drop the messages (`message_deleted`, each).
   */
  async erase(authId: number, messages: Array<{ id: number; channel: string }>, digests: string[]): Promise<void> {
    for (const digest of digests) this.forgetToken(digest);
    (await this.mutes.ifRead())?.delete(authId);
    (await this.bans.ifRead())?.delete(authId);
    const history = await this.history.ifRead();
    if (history) history.splice(0, history.length, ...history.filter((message) => message.user?.auth_id !== authId));
    for (const { id, channel } of messages) this.messageDeleted(id, channel);
  }

  /** The app slowed `channel` to one message per `intervalMs` for its MEMBERs, or (null) ended its slow mode (stored already). */
  async setSlowMode(channel: string, intervalMs: number | null): Promise<void> {
    const slowModes = await this.slowModes.ifRead();
    if (intervalMs === null) slowModes?.delete(channel);
    else slowModes?.set(channel, intervalMs);
  }

  /** The app lifted user `authId`'s ban (stored already). */
  async unban(authId: number): Promise<void> {
    (await this.bans.ifRead())?.delete(authId);
    this.host.notify("user.unbanned", { auth_id: authId, uname: null, by: null });
  }

  /** The app added or deleted a signing key: tokens are verified against the keys as they are now. */
  forgetSigningKeys(): void {
    this.signingKeys.forget();
  }

  /** The user the token with this digest stands for now, from the cache when it is fresh. Expiry is checked on every use. */
  private async userOf(key: string): Promise<User | null> {
    const now = this.host.now();
    let cached = this.grants.get(key);
    if (!cached || now - cached.readAt > TOKEN_CACHE_MS) {
      const forgotten = this.forgotten;
      cached = { grant: await this.store.tokenGrant(this.appId, key), readAt: now };
      this.grants.delete(key);
      // A read that a revocation overtook may predate it: it answers this request, and the next reads again.
      if (forgotten === this.forgotten) this.grants.set(key, cached);
      // Insertion order is age order: past the bound, the oldest lookups go first.
      if (this.grants.size > TOKEN_CACHE_SIZE) this.grants.delete(this.grants.keys().next().value!);
    }
    const { grant } = cached;
    return grant && (grant.expiresAt === null || grant.expiresAt > now) ? grant.user : null;
  }

  /**
   * A saved session as its credential stands now, for connection state recovery: with the user its token grants
   * today, or null when the token no longer grants that user (revoked, expired, or saved before sessions kept
   * their token's digest). Anonymous sessions stand as they are.
   */
  async recheck(session: ClientSession): Promise<ClientSession | null> {
    if (!session.user) return session;
    if ((await this.bannedUntil(session.user.auth_id)) !== undefined) return null;
    if (session.signedBy) {
      const { kid, expiresAt } = session.signedBy;
      return expiresAt > this.host.now() && (await this.signingKeys.keyOf(kid)) ? session : null;
    }
    const user = session.tokenDigest ? await this.userOf(session.tokenDigest) : null;
    return user?.auth_id === session.user.auth_id ? { ...session, user } : null;
  }

  /**
   * A client came back with its session through connection state recovery (checked by {@link recheck}): it is
   * present again, and its next `auth` is answered rather than refused. Null when an anonymous session finds the
   * app at its limit of those.
   */
  rejoin(client: ClientRef, session: ClientSession): Granted | null {
    if (this.anonymousRefused(client, session)) return null;
    return this.grant(client, { ...session, recovered: true });
  }

  /** Whether `session` would take the app past its sessions without a user (a client's own session is already counted). */
  private anonymousRefused(client: ClientRef, session: ClientSession): boolean {
    if (session.user || this.directory.session(client.id)?.user === null) return false;
    return this.directory.anonymous >= this.options.maxAnonymousSessions;
  }

  /** Called once when a client leaves, however it left: its session ends (or, mid-auth, never starts). */
  leave(client: ClientRef): void {
    if (this.authenticating.has(client.id)) this.abandoned.add(client.id);
    this.announce(this.directory.delete(client.id, client.session), client.id);
  }

  /** Registers a session and announces what it changes, in one synchronous step with its feed mark. */
  private grant(client: ClientRef, session: ClientSession): Granted {
    const mark = this.host.mark(client.shard);
    this.announce(this.directory.set(client.id, client.shard, session), client.id);
    return { session, mark };
  }

  private announce({ joined, left }: PresenceChange, clientId: string): void {
    if (left) {
      this.broadcastToChat("user_left", { uname: left.uname });
      this.host.notify("user.left", left);
    }
    if (joined) {
      this.broadcastToChat("user_joined", joined, clientId);
      this.host.notify("user.joined", joined);
    }
  }

  /** Posts a system message (no user) from the app's backend: stored, in the history, delivered as any message. */
  publish(channel: string, text: string): Promise<ChatMessage> {
    return this.writer.submit({ message: { channel, text, createdAt: this.host.now(), user: null } });
  }

  /**
   * An operator deleted a message: it leaves storage and the history new clients get, and CHAT subscribers are
   * told (`message_deleted` with `{ id, channel }`) so they can remove it. False when there was no such message.
   */
  async deleteMessage(messageId: number): Promise<boolean> {
    const deleted = await this.store.deleteMessage(this.appId, messageId);
    if (!deleted) return false;
    const history = await this.history.get();
    const index = history.findIndex((message) => message.id === messageId);
    if (index >= 0) history.splice(index, 1);
    this.messageDeleted(messageId, deleted.channel);
    return true;
  }

  private messageDeleted(id: number, channel: string): void {
    this.broadcastToChat("message_deleted", { id, channel });
    this.host.notify("message.deleted", { id, channel });
  }

  /**
   * The app's messages older than `cutoff` passed its retention and left storage: they leave the history new
   * clients get as well. Clients that have them keep them; nothing is broadcast.
   */
  async forgetMessagesBefore(cutoff: number): Promise<void> {
    const history = await this.history.ifRead();
    if (!history) return;
    const kept = history.findIndex((message) => Date.parse(message.created_at) >= cutoff);
    history.splice(0, kept < 0 ? history.length : kept);
  }

  /** An operator lifted a mute. False when the user was not muted. */
  async liftMute(authId: number): Promise<boolean> {
    const lifted = await this.store.deleteMute(this.appId, authId);
    (await this.mutes.get()).delete(authId);
    if (lifted) this.host.notify("user.unmuted", { auth_id: authId, uname: null, by: null });
    return lifted;
  }

  /**
   * A user's balance changed: every connection of that user subscribed to DEPOSITS is told. A confirmed change
   * goes out as both `balance_change` and `confirmed_deposit_change`.
   */
  balanceChanged(event: BalanceEvent): void {
    const audience: Audience = { feed: "DEPOSITS", authId: event.auth_id };
    const payload = { balance: event.balance, diff: event.diff };
    if (this.directory.hasSessionsIn(audience)) {
      this.host.notify("deposit.delivered", { event_id: event.id, type: event.type, auth_id: event.auth_id, balance: event.balance, diff: event.diff });
    }
    if (event.type === "unconfirmed_balance_change") return this.host.broadcast(audience, "unconfirmed_balance_change", payload);
    this.host.broadcast(audience, "balance_change", payload);
    this.host.broadcast(audience, "confirmed_deposit_change", payload);
  }

  /** A bet was placed: it joins this second's sample, which goes to BETS subscribers when the second ends. */
  betPlaced(bet: Bet): void {
    if (this.bets.add(bet)) this.host.later(1_000, () => this.sendBets());
  }

  private sendBets(): void {
    for (const bet of this.bets.take()) this.host.broadcast({ feed: "BETS" }, "new_bet", bet);
  }

  private async runCommand(actor: User, channel: string, text: string): Promise<Outcome<ChatMessage>> {
    if (actor.role === "MEMBER") return refused(ErrorCode.FORBIDDEN, "only owners and moderators can use commands");
    const parsed = parseCommand(text);
    if (!parsed.ok) return refused(ErrorCode.INVALID_COMMAND, parsed.reason);
    const { command } = parsed;
    const now = this.host.now();
    if (command.name === "slow") {
      if (command.interval === null && !(await this.slowModes.get()).has(channel)) return refused(ErrorCode.INVALID_COMMAND, `${channel} is not in slow mode`);
      return { ok: true, value: await this.writer.submit(slowModeWrite(actor, channel, command.interval, now)) };
    }
    // Storage ranks a user by every token it was issued; a user known only by tokens its app signed is found in
    // the chat, with the role its token gives.
    const target = (await this.store.moderationTarget(this.appId, command.uname, now)) ?? this.directory.present(command.uname);
    if (!target) return refused(ErrorCode.INVALID_COMMAND, `there is no user named ${command.uname} in this app`);
    const forbidden = moderationRefusal(actor, target);
    if (forbidden) return refused(ErrorCode.FORBIDDEN, forbidden);
    const ofTarget = (session: ClientSession) => session.user?.auth_id === target.auth_id;

    const mutedUntil = (await this.mutes.get()).get(target.auth_id);
    if (command.name === "unmute" && (mutedUntil === undefined || mutedUntil <= now)) return refused(ErrorCode.INVALID_COMMAND, `${target.uname} is not muted`);
    if (command.name === "unban" && (await this.bannedUntil(target.auth_id)) === undefined) return refused(ErrorCode.INVALID_COMMAND, `${target.uname} is not banned`);
    if (command.name === "kick" && this.directory.clientsWhere(ofTarget).size === 0) return refused(ErrorCode.INVALID_COMMAND, `${target.uname} is not connected`);
    const announced = await this.writer.submit(moderationWrite(actor, target, command, channel, now));
    // The ban is in force (storeWrites took it in with its announcement): the sessions end after it, and none starts.
    if (command.name === "ban") await this.host.endSessions(ofTarget, SessionEnd.BANNED);
    if (command.name === "kick") await this.host.endSessions(ofTarget, SessionEnd.KICKED);
    return { ok: true, value: announced };
  }

  private broadcastToChat(event: ServerEvent, payload: unknown, exceptId?: string): void {
    this.host.broadcast({ feed: "CHAT" }, event, payload, exceptId);
  }

  /** On a resume from before the oldest message in the history, the messages after it, from storage. */
  private async olderThanHistory(resumeFrom: number): Promise<ChatMessage[]> {
    const oldest = (await this.history.get())[0];
    // The history holds every message from its oldest on; ids are shared by all apps, so gaps prove nothing.
    if (!oldest || oldest.id <= resumeFrom) return [];
    return this.store.messagesAfter(this.appId, resumeFrom, RESUME_LIMIT + 1);
  }

  /**
   * Stores a batch, then (in one synchronous step) brings the history and the mutes up to date and broadcasts
   * it: every client either finds a message in the history its auth returns or receives it live, never both
   * and never neither, and a mute is enforced from the moment it is announced.
   */
  private async storeWrites(writes: ChatWrite[]): Promise<ChatMessage[]> {
    // Reading the caches before the first write means they can never miss a change stored before the read.
    const [history, mutes, bans, slowModes] = await Promise.all([this.history.get(), this.mutes.get(), this.bans.get(), this.slowModes.get()]);
    const stored = await this.store.write(this.appId, writes);
    for (const { moderation } of writes) {
      if (!moderation) continue;
      const by = moderation.by;
      switch (moderation.kind) {
        case "mute": {
          const { auth_id, uname } = moderation.target;
          mutes.set(auth_id, moderation.expiresAt);
          this.host.notify("user.muted", { auth_id, uname, expires_at: isoDate(moderation.expiresAt), by });
          break;
        }
        case "unmute":
          mutes.delete(moderation.target.auth_id);
          this.host.notify("user.unmuted", { auth_id: moderation.target.auth_id, uname: moderation.target.uname, by });
          break;
        case "ban": {
          const { auth_id, uname } = moderation.target;
          bans.set(auth_id, moderation.expiresAt);
          this.host.notify("user.banned", { auth_id, uname, expires_at: isoDate(moderation.expiresAt), reason: moderation.reason, by });
          break;
        }
        case "unban":
          bans.delete(moderation.target.auth_id);
          this.host.notify("user.unbanned", { auth_id: moderation.target.auth_id, uname: moderation.target.uname, by });
          break;
        case "slow_mode":
          if (moderation.intervalMs === null) slowModes.delete(moderation.channel);
          else slowModes.set(moderation.channel, moderation.intervalMs);
      }
    }
    history.push(...stored);
    history.splice(0, Math.max(0, history.length - HISTORY_LENGTH));
    for (const message of stored) {
      this.broadcastToChat("new_message", message);
      this.host.notify("message.created", message);
    }
    return stored;
  }
}

/** A value read from storage on first use and then kept (and changed in place); a failed read is tried again. */
class StoredOnce<T> {
  private value: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    this.value ??= this.read().catch((error: unknown) => {
      this.value = null;
      throw error;
    });
    return this.value;
  }

  /** The value if it was read (or is being read), without reading it. */
  ifRead(): Promise<T> | null {
    return this.value;
  }
}

/**
 * The messages an auth response carries: the latest ones, or on a resume those after `resumeFrom` (what storage
 * returned beyond the history, then the history's newer ones), at most {@link RESUME_LIMIT}. `older` is null
 * when storage was not read: a resume from before a full history is then `truncated`, since more may be missing.
 */
function missedMessages(history: ChatMessage[], resumeFrom: number | null, older: ChatMessage[] | null): { messages: ChatMessage[]; truncated: boolean } {
  if (resumeFrom === null) return { messages: history.slice(), truncated: false };
  if (older === null) {
    const beyond = history.length >= HISTORY_LENGTH && history[0]!.id > resumeFrom + 1;
    return { messages: history.filter((message) => message.id > resumeFrom), truncated: beyond };
  }
  // Storage may already hold a message whose write has not returned; it is not in the history yet, and it
  // will be broadcast (to this client too) once the write returns.
  const newest = history.at(-1)?.id ?? -Infinity;
  const stored = older.filter((message) => message.id <= newest);
  const after = stored.at(-1)?.id ?? resumeFrom;
  const messages = [...stored, ...history.filter((message) => message.id > after)];
  let bytes = 0;
  const fitting = messages.findIndex((message, index) => index === RESUME_LIMIT || (bytes += serializedBytesBound(message)) > RESUME_BYTES);
  return fitting < 0 ? { messages, truncated: false } : { messages: messages.slice(0, fitting), truncated: true };
}

const RANK: Record<User["role"], number> = { OWNER: 3, MOD: 2, MEMBER: 1 };

/** Why `actor` may not moderate `target`, or null when it may: only over lower roles, never over oneself. */
function moderationRefusal(actor: User, target: User): string | null {
  if (actor.auth_id === target.auth_id) return "you cannot moderate yourself";
  if (RANK[target.role] >= RANK[actor.role]) {
    return `a ${actor.role.toLowerCase()} cannot moderate a ${target.role.toLowerCase()}`;
  }
  return null;
}

/** A command's change and the system message that announces it (stored together), in the command's channel. */
function moderationWrite(actor: User, target: User, command: Exclude<Command, { name: "slow" }>, channel: string, now: number): ChatWrite {
  const announce = (text: string) => ({ channel, text: `${actor.uname} ${text}`, createdAt: now, user: null });
  switch (command.name) {
    case "mute":
      return {
        message: announce(`muted ${target.uname} for ${command.duration.label}`),
        moderation: { kind: "mute", target, by: actor.uname, expiresAt: now + command.duration.ms },
      };
    case "unmute":
      return { message: announce(`unmuted ${target.uname}`), moderation: { kind: "unmute", target, by: actor.uname } };
    case "ban":
      return {
        message: announce(command.duration ? `banned ${target.uname} for ${command.duration.label}` : `banned ${target.uname}`),
        moderation: { kind: "ban", target, by: actor.uname, reason: `banned in chat by ${actor.uname}`, expiresAt: command.duration && now + command.duration.ms },
      };
    case "unban":
      return { message: announce(`unbanned ${target.uname}`), moderation: { kind: "unban", target, by: actor.uname } };
    case "kick":
      return { message: announce(`kicked ${target.uname}`) };
  }
}

function slowModeWrite(actor: User, channel: string, interval: Duration | null, now: number): ChatWrite {
  const text = interval ? `${actor.uname} slowed ${channel} to one message per ${interval.label}` : `${actor.uname} ended slow mode in ${channel}`;
  return { message: { channel, text, createdAt: now, user: null }, moderation: { kind: "slow_mode", channel, by: actor.uname, intervalMs: interval && interval.ms } };
}
