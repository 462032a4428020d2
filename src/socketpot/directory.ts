import { Presence } from "./presence.js";
import type { Audience, Subscription, User } from "./schemas.js";

/** What a connection has after a successful `auth`. */
export interface ClientSession {
  user: User | null;
  subscriptions: Subscription[];
  /**
   * The digest of the access token `user` came from, so that a session recovered later is checked against the
   * token as it stands then (revoked, expired); absent for anonymous sessions.
   */
  tokenDigest?: string;
  /** For a user whose token the app signed: the key that signed it and when it expires (epoch ms), to check it again. */
  signedBy?: { kid: string; expiresAt: number };
  /**
   * Set when the session came back through connection state recovery: the client's next `auth` (clients
   * authenticate on every connect) is then answered like a first one instead of refused.
   */
  recovered?: boolean;
}

/** Whether a session is in an audience. */
export function reaches(audience: Audience, session: ClientSession | null): boolean {
  if (!session) return false;
  switch (audience.feed) {
    case "ALL":
      return true;
    case "USER":
      return session.user?.auth_id === audience.authId;
    case "DEPOSITS":
      return session.subscriptions.includes("DEPOSITS") && session.user?.auth_id === audience.authId;
    default:
      return session.subscriptions.includes(audience.feed);
  }
}

/** The user a session makes present in the chat: an authenticated one subscribed to CHAT. */
export function chatUser(session: ClientSession | null): User | null {
  return session?.user && session.subscriptions.includes("CHAT") ? session.user : null;
}

/** Presence changes a session change caused, to be announced. */
export interface PresenceChange {
  joined: User | null;
  left: User | null;
}

/**
 * Every authenticated session of an app, on whichever shard its connection is: who is present in the chat
 * (a user with tabs on two shards is one presence), and which shards an audience has sessions on, so that a
 * broadcast goes to those shards only (a deposit to the shards of that user's connections).
 */
export class Directory {
  /** Each session, with the number of the change that made it (see {@link changes}). */
  private readonly sessions = new Map<string, { shard: number; session: ClientSession; since: number }>();
  /** How many sessions were started or replaced so far: a point in this directory's history. */
  private changeCount = 0;
  private readonly presence = new Presence();
  /** Sessions without a user, app-wide: their number is capped, so that they cannot crowd users out. */
  anonymous = 0;
  /** Audience key → shard → sessions there in that audience. */
  private readonly routes = new Map<string, Map<number, number>>();

  /** Starts or replaces the session of client `id` on `shard`. */
  set(id: string, shard: number, session: ClientSession): PresenceChange {
    const previous = this.sessions.get(id);
    if (previous) this.route(previous.shard, previous.session, -1);
    this.sessions.set(id, { shard, session, since: ++this.changeCount });
    this.route(shard, session, 1);
    this.anonymous += Number(!session.user) - Number(previous !== undefined && !previous.session.user);
    const before = chatUser(previous?.session ?? null);
    const after = chatUser(session);
    if (before?.auth_id === after?.auth_id) return { joined: null, left: null };
    const left = before && this.presence.leave(id, before) ? before : null;
    const joined = after && this.presence.join(id, after) ? after : null;
    return { joined, left };
  }

  /**
   * Ends the session of client `id`. `session` is the one its shard knew: a client that left before this
   * directory was rebuilt (after a restart) is not in it, and its user leaves if no other session keeps it present.
   */
  delete(id: string, session: ClientSession | null): PresenceChange {
    const entry = this.sessions.get(id);
    if (!entry) {
      const user = chatUser(session);
      return { joined: null, left: user && !this.presence.has(user.auth_id) ? user : null };
    }
    this.sessions.delete(id);
    this.route(entry.shard, entry.session, -1);
    if (!entry.session.user) this.anonymous -= 1;
    const user = chatUser(entry.session);
    return { joined: null, left: user && this.presence.leave(id, user) ? user : null };
  }

  /** Where this directory is now: the sessions started later have a higher change number. */
  changes(): number {
    return this.changeCount;
  }

  /**
   * The clients with a session on `shard` that started by change `before` (walks every session: for a shard's
   * rare check, not hot paths).
   */
  clientsOn(shard: number, before = Infinity): string[] {
    return [...this.sessions].flatMap(([id, entry]) => (entry.shard === shard && entry.since <= before ? [id] : []));
  }

  /** The clients whose session `matches`, by shard (walks every session: for a kick or a revocation, not hot paths). */
  clientsWhere(matches: (session: ClientSession) => boolean): Map<number, string[]> {
    const found = new Map<number, string[]>();
    for (const [id, { shard, session }] of this.sessions) {
      if (!matches(session)) continue;
      const ids = found.get(shard) ?? [];
      ids.push(id);
      found.set(shard, ids);
    }
    return found;
  }

  session(id: string): ClientSession | null {
    return this.sessions.get(id)?.session ?? null;
  }

  /** Whether at least one session is in `audience`. */
  hasSessionsIn(audience: Audience): boolean {
    return (this.routes.get(routeKey(audience))?.size ?? 0) > 0;
  }

  /** The shards with at least one session in `audience`. */
  shards(audience: Audience): Iterable<number> {
    return this.routes.get(routeKey(audience))?.keys() ?? [];
  }

  userlist(): Record<string, User> {
    return this.presence.userlist();
  }

  /** The user in the chat now named `uname` (case-insensitive), if any. */
  present(uname: string): User | null {
    return this.presence.named(uname);
  }

  /** How many users the userlist holds (users with a CHAT session), without building it. */
  usersOnline(): number {
    return this.presence.size;
  }

  /** Distinct authenticated users with a session, app-wide (walks every session: for operators, not hot paths). */
  users(): number {
    return new Set([...this.sessions.values()].flatMap(({ session }) => (session.user ? [session.user.auth_id] : []))).size;
  }

  private route(shard: number, session: ClientSession, change: 1 | -1): void {
    for (const audience of audiencesOf(session)) {
      const key = routeKey(audience);
      const counts = this.routes.get(key) ?? new Map<number, number>();
      const count = (counts.get(shard) ?? 0) + change;
      if (count > 0) counts.set(shard, count);
      else counts.delete(shard);
      if (counts.size > 0) this.routes.set(key, counts);
      else this.routes.delete(key);
    }
  }
}

function routeKey(audience: Audience): string {
  return "authId" in audience ? `${audience.feed}:${audience.authId}` : audience.feed;
}

/** The audiences a session is in: its feeds (DEPOSITS as its user's), the app's (ALL), its user's (USER). */
function audiencesOf(session: ClientSession): Audience[] {
  const audiences: Audience[] = [{ feed: "ALL" }];
  if (session.user) audiences.push({ feed: "USER", authId: session.user.auth_id });
  for (const feed of session.subscriptions) {
    if (feed !== "DEPOSITS") audiences.push({ feed });
    else if (session.user) audiences.push({ feed, authId: session.user.auth_id });
  }
  return audiences;
}
