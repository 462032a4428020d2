import type { FeedItem } from "./feed.js";
import type { LoggedEvent } from "./recovery.js";
import type { ClientRef, Granted, Outcome } from "./room.js";

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


/** The room's face to shards over RPC: the {@link Ordering} calls, each with the app's id first. */
export interface AppOrdering {
  countConnections(appId: number, shard: number, report: ConnectionReport): Promise<CountedConnections>;
  request(appId: number, client: ShardClient, event: string | number, payload: unknown): Promise<Outcome<unknown>>;
  recover(appId: number, client: ShardClient, pid: string, offset: string | null): Promise<Recovered | null>;
  leave(appId: number, client: ShardClient, reason: string): Promise<void>;
}

/** The {@link Ordering} of app `appId` through `room`, each call passed through `wrap` (a deadline, say). */
export function orderingOf(room: AppOrdering, appId: number, wrap: <T>(call: Promise<T>) => Promise<T> = (call) => call): Ordering {
  return {
    countConnections: (shard, report) => wrap(room.countConnections(appId, shard, report)),
    request: (client, event, payload) => wrap(room.request(appId, client, event, payload)),
    recover: (client, pid, offset) => wrap(room.recover(appId, client, pid, offset)),
    leave: (client, reason) => wrap(room.leave(appId, client, reason)),
  };
}
