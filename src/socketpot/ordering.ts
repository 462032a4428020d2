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

/** A session handed back to a reconnecting client: its socket id, the session and what it missed before the mark. */
export interface Recovered {
  sid: string;
  granted: Granted;
  missed: LoggedEvent[];
}

/**
 * What a shard asks of its app's ordering room, the app's single writer. The room's own connections make these
 * calls in-process; a connection shard makes them over Durable Object RPC. Arguments and results are plain
 * data for that reason.
 */
export interface Ordering {
  /** A connection is opening on `shard` from address `ip`: null to go ahead, else why the app's limits refuse it. */
  openConnection(shard: number, ip: string): Promise<string | null>;
  /** A connection that {@link openConnection} let in has ended. */
  closeConnection(shard: number, ip: string): Promise<void>;
  /** One client request (`auth`, `new_message`, …); a successful auth's outcome grants the session to start. */
  request(client: ShardClient, event: string | number, payload: unknown): Promise<Outcome<unknown>>;
  /** The session `pid` names, back for a reconnecting client with what it missed; null when it cannot be had. */
  recover(client: ShardClient, pid: string, offset: string | null): Promise<Recovered | null>;
  /** The client's connection ended for `reason` (Socket.IO's words): its session ends, kept for recovery if the reason allows. */
  leave(client: ShardClient, reason: string): Promise<void>;
}
