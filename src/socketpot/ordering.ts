import type { FeedItem } from "./feed.js";
import type { LoggedEvent } from "./recovery.js";
import type { ClientRef, Granted, Outcome } from "./room.js";

/**
 * The version of the calls between an app's connection shards and its ordering room ({@link AppOrdering} and
 * {@link ShardLink}) that this code sends with each of them. A deploy runs old and new code side by side for
 * minutes (an object keeps its code until it hibernates, up to 300 s, and a gradual deployment keeps each
 * object on its version until the next deployment), so a change to these calls goes in two releases: the first
 * serves the new version beside the old and still sends the old, the second sends the new (docs/deploy.md).
 * Calls from code written before versions were sent carry none, and are version 1, whose shape they have.
 */
export const ORDERING_VERSION = 2;

/**
 * The versions this code serves: the one it sends, and the one before it. Version 2 adds `calls` (a shard's
 * calls in one batch) to version 1; a room on version 1 code has no such method, and a shard that meets one
 * sends its calls each on its own, as version 1 did (src/shard/room-calls.ts).
 */
export const SERVED_ORDERING_VERSIONS: readonly number[] = [1, 2];

/**
 * Checks the version of an incoming call: a version this code does not serve is refused with an error that
 * names both sides, which the caller handles as it handles an unreachable object (the client's request fails
 * with INTERNAL_ERROR and is sent again, a feed or a report is retried), so nothing acknowledged is lost.
 */
export function servedOrderingVersion(version: number | undefined, call: string): void {
  const theirs = version ?? 1;
  if (SERVED_ORDERING_VERSIONS.includes(theirs)) return;
  throw new Error(`${call}: ordering version ${theirs} is not served by this object, which serves ${SERVED_ORDERING_VERSIONS.join(", ")} (a rollout in progress)`);
}

/** The ids connection state recovery knows a socket.io client by: its socket id and private session id. */
export interface RecoveryIds {
  sid: string;
  pid: string;
}

/** A client as its shard describes it to the ordering room. */
export interface ShardClient extends ClientRef {
  /** Set for clients that can recover their session (socket.io-client 4.6 and later). */
  readonly recovery: RecoveryIds | null;
}

/**
 * A session handed back to a reconnecting client: its socket id, the new pid that stands for it from now on,
 * the session and what it missed before the mark.
 */
export interface Recovered {
  sid: string;
  pid: string;
  granted: Granted;
  missed: LoggedEvent[];
}

/**
 * What a shard asks of its app's ordering room, the app's single writer. The room's own connections make these
 * calls in-process; a connection shard makes them over Durable Object RPC. Arguments and results are plain
 * data for that reason.
 */
export interface Ordering {
  /** Counts the connections `shard` opened and closed: the app's limits hold over all its shards. */
  countConnections(shard: number, report: ConnectionReport): Promise<CountedConnections>;
  /** One client request (`auth`, `new_message`, …); a successful auth's outcome grants the session to start. */
  request(client: ShardClient, event: string | number, payload: unknown): Promise<Outcome<unknown>>;
  /** The session `pid` names, back for a reconnecting client with what it missed; null when it cannot be had. */
  recover(client: ShardClient, pid: string, offset: string | null): Promise<Recovered | null>;
  /** The client's connection ended for `reason` (Socket.IO's words): its session ends, kept for recovery if the reason allows. */
  leave(client: ShardClient, reason: string): Promise<void>;
}

/** Connections a shard opened (by connection id and client address) and closed (by address) since it last reported. */
export interface ConnectionReport {
  opened: Array<{ id: string; ip: string }>;
  closed: string[];
}

/** The room's answer to a {@link ConnectionReport}, once it is counted. */
export interface CountedConnections {
  /** The opens the app's limits refuse, and why. */
  refused: Array<{ id: string; reason: string }>;
  /** The app's open connections over all its shards, this report's counted. */
  total: number;
}

/**
 * How the room reaches one shard: in-process for its own connections, over RPC for a connection shard's.
 * `receive` answers with the shard's activation (see {@link ShardSnapshot.activation}).
 */
export interface ShardLink {
  receive(items: FeedItem[]): void | Promise<string>;
  snapshot(): ShardSnapshot | Promise<ShardSnapshot>;
  /** Ends these clients' sessions, telling each `reason`; answers how many the shard still held. */
  end(ids: string[], reason: string): number | Promise<number>;
}

/** A connection shard as the ordering room calls it over RPC, each call with its {@link ORDERING_VERSION}. */
export interface ShardEndpoint {
  receive(items: FeedItem[], version?: number): string | Promise<string>;
  snapshot(version?: number): ShardSnapshot | Promise<ShardSnapshot>;
  endSessions(ids: string[], reason: string, version?: number): number | Promise<number>;
}

/** The {@link ShardLink} of a connection shard: each call carries this code's version. */
export function linkOf(shard: ShardEndpoint): ShardLink {
  return {
    receive: (items) => Promise.resolve(shard.receive(items, ORDERING_VERSION)),
    snapshot: () => shard.snapshot(ORDERING_VERSION),
    end: (ids, reason) => Promise.resolve(shard.endSessions(ids, reason, ORDERING_VERSION)),
  };
}

/** What a shard reports of itself when this room (re)builds its view of the app. */
export interface ShardSnapshot {
  /**
   * Names the shard object's current activation. A new one (the shard restarted, or woke from hibernation)
   * means connections may have gone without a word, so the room checks its view against a fresh snapshot.
   */
  activation: string;
  sessions: ShardClient[];
  /** Clients whose auth or recovery is under way: the room may have granted a session the shard has not started yet. */
  pending: string[];
  /** Open connections per client address. */
  ips: Record<string, number>;
}


/** One of the {@link Ordering} calls, as a shard's batch carries it (ordering version 2). */
export type OrderingCall =
  | { kind: "countConnections"; shard: number; report: ConnectionReport }
  | { kind: "request"; client: ShardClient; event: string | number; payload: unknown }
  | { kind: "recover"; client: ShardClient; pid: string; offset: string | null }
  | { kind: "leave"; client: ShardClient; reason: string };

/** The answer to one call of a batch: its value, or the message of the error it failed with. */
export type OrderingResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * The room's answer to a batch: each call's result in order, how far apart the shard is to send batches, and the
 * app's shard count.
 */
export interface OrderingBatchAnswer {
  results: OrderingResult[];
  spacingMs: number;
  /** The app's shard count as the room knows it (null before it knows), for the shard to pass on to the Worker. */
  shards: number | null;
  /**
   * How many users the app's userlist holds, which every auth answer carries: the shard bounds its next batches'
   * answers by it (absent from a room on code from before it).
   */
  usersOnline?: number;
}

/** Runs one call of a batch against `ordering`. */
export function runOrderingCall(ordering: Ordering, call: OrderingCall): Promise<unknown> {
  switch (call.kind) {
    case "countConnections":
      return ordering.countConnections(call.shard, call.report);
    case "request":
      return ordering.request(call.client, call.event, call.payload);
    case "recover":
      return ordering.recover(call.client, call.pid, call.offset);
    case "leave":
      return ordering.leave(call.client, call.reason);
  }
}

/**
 * The room's face to shards over RPC: the {@link Ordering} calls, each with the app's id first and the caller's
 * {@link ORDERING_VERSION} last.
 */
export interface AppOrdering {
  countConnections(appId: number, shard: number, report: ConnectionReport, version?: number): Promise<CountedConnections>;
  request(appId: number, client: ShardClient, event: string | number, payload: unknown, version?: number): Promise<Outcome<unknown>>;
  recover(appId: number, client: ShardClient, pid: string, offset: string | null, version?: number): Promise<Recovered | null>;
  leave(appId: number, client: ShardClient, reason: string, version?: number): Promise<void>;
}

/** The {@link Ordering} of app `appId` through `room`, each call passed through `wrap` (a deadline, say). */
export function orderingOf(room: AppOrdering, appId: number, wrap: <T>(call: Promise<T>) => Promise<T> = (call) => call): Ordering {
  return {
    countConnections: (shard, report) => wrap(room.countConnections(appId, shard, report, ORDERING_VERSION)),
    request: (client, event, payload) => wrap(room.request(appId, client, event, payload, ORDERING_VERSION)),
    recover: (client, pid, offset) => wrap(room.recover(appId, client, pid, offset, ORDERING_VERSION)),
    leave: (client, reason) => wrap(room.leave(appId, client, reason, ORDERING_VERSION)),
  };
}
