import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import type { ClientSession } from "./directory.js";
import type { ServerEvent } from "./room.js";
import type { Audience } from "./schemas.js";

/** A broadcast as the recovery log keeps it, to be sent again to a client that missed it. */
export interface LoggedEvent {
  offset: string;
  event: ServerEvent;
  payload: unknown;
}

/** A session handed back to a reconnecting client, with what it missed. */
export interface RecoveredSession {
  /** Its Socket.IO socket id, which a recovered client keeps. */
  sid: string;
  session: ClientSession;
  missed: LoggedEvent[];
}

/**
 * Where a room keeps what connection state recovery needs, in the room's own storage so that it outlives
 * hibernation and restarts: every broadcast of the recent past (numbered by its offset) and the session of
 * every recoverable connection, live or recently gone.
 */
export interface RecoveryStore {
  /** Logs a broadcast; returns its offset. */
  record(audience: Audience, event: ServerEvent, payload: unknown, exceptId: string | null): string;
  /** The offset of the latest broadcast, or null before the first. */
  latest(): string | null;
  /** Keeps the session of a connection holding `pid` while it is connected. */
  save(pid: string, sid: string, clientId: string, session: ClientSession): void;
  /**
   * Connection `clientId`, holding `pid`, dropped without saying goodbye: its session waits one recovery window.
   * (A pid already recovered by a newer connection is not touched by its stale predecessor's end.)
   */
  detach(pid: string, clientId: string): void;
  /** Connection `clientId` left on purpose, or was sent away: its session is not kept. */
  forget(pid: string, clientId: string): void;
  /** The session `pid` names, as saved, while it can be recovered; it stays saved. */
  peek(pid: string): ClientSession | null;
  /**
   * Hands back (once) the session `pid` names with every broadcast after `offset` that it was in the audience
   * of; null when there is no such session any more, or when the log no longer reaches back to `offset`.
   */
  take(pid: string, offset: string | null): RecoveredSession | null;
}

/** What socket.io-client (4.6 and later) adds to its CONNECT payload when it reconnects. */
export const RecoveryClaim = builtOnFirstUse(() => z.object({ pid: z.string().min(1).max(64), offset: z.string().max(32).optional() }));
