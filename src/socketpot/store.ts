import { deadline, type Clock } from "../deadline.js";
import type { ChatMessage, User } from "./schemas.js";

export interface TokenGrant {
  user: User;
  expiresAt: number | null;
}

/** A message before it is stored: the store assigns its id. `user` is null for system messages. */
export interface MessageDraft {
  channel: string;
  text: string;
  createdAt: number;
  user: User | null;
}

/**
 * A change a moderation command makes, `by` the moderator's uname; expiries are epoch ms (a ban's null: for
 * good; a slow mode's null: off).
 */
export type ModerationChange =
  | { kind: "mute"; target: User; by: string; expiresAt: number }
  | { kind: "unmute"; target: User; by: string }
  | { kind: "ban"; target: User; by: string; reason: string; expiresAt: number | null }
  | { kind: "unban"; target: User; by: string }
  | { kind: "slow_mode"; channel: string; by: string; intervalMs: number | null };

/** One message to store, with the moderation change it announces (stored atomically with it). */
export interface ChatWrite {
  message: MessageDraft;
  moderation?: ModerationChange;
}

/** The room's persistent storage; storage/d1-store.ts implements it on D1. Every method may reject. */
export interface ChatStore {
  /**
   * What the token with this digest (src/credentials.ts) grants in this app: its user and expiry (epoch ms,
   * null for none); null for an unknown, revoked or other-app token. Expiry is the caller's to check, so a
   * grant can be cached.
   */
  tokenGrant(appId: number, digest: string): Promise<TokenGrant | null>;
  /** The public JWKs the app registered to sign its users' tokens (src/signed-tokens.ts), as stored. */
  signingKeys(appId: number): Promise<unknown[]>;
  /**
   * The user a moderation command names (case-insensitive), as high as it ranks: the auth_id of the newest live
   * token issued to that name (else of the newest token), with the highest role any live token of that auth_id
   * holds (else any token of it), so that no token issued under another name or role ranks a user lower.
   */
  moderationTarget(appId: number, uname: string, now: number): Promise<User | null>;
  /** The latest `limit` messages of the app, oldest first. */
  recentMessages(appId: number, limit: number): Promise<ChatMessage[]>;
  /** The first `limit` messages after the id `afterId`, oldest first. */
  messagesAfter(appId: number, afterId: number, limit: number): Promise<ChatMessage[]>;
  /** auth_id → expiry (epoch ms) of the app's mutes that have not expired. */
  activeMutes(appId: number, now: number): Promise<Map<number, number>>;
  /** auth_id → expiry (epoch ms; null for good) of the app's bans that have not expired. */
  activeBans(appId: number, now: number): Promise<Map<number, number | null>>;
  /** channel → interval (ms) of the app's channels in slow mode. */
  slowModes(appId: number): Promise<Map<string, number>>;
  /** Stores the writes in one transaction, in order; resolves with the stored messages. */
  write(appId: number, writes: ChatWrite[]): Promise<ChatMessage[]>;
  /** Deletes a message; resolves with its channel, or null when the app has no such message. */
  deleteMessage(appId: number, messageId: number): Promise<{ channel: string } | null>;
  /** Lifts a user's mute; resolves false when the user was not muted. */
  deleteMute(appId: number, authId: number): Promise<boolean>;
}

/**
 * The same store, except that a call not answered within `ms` fails: a hung storage call must not hold a
 * client's request, or the room's write queue behind it, forever. (A timed-out write may still be stored
 * later; its sender got `INTERNAL_ERROR` and may send again.)
 */
export function withDeadline(store: ChatStore, ms: number, clock: Clock): ChatStore {
  const timed = deadline(ms, "storage", clock);
  return {
    tokenGrant: (...args) => timed(store.tokenGrant(...args)),
    signingKeys: (...args) => timed(store.signingKeys(...args)),
    moderationTarget: (...args) => timed(store.moderationTarget(...args)),
    recentMessages: (...args) => timed(store.recentMessages(...args)),
    messagesAfter: (...args) => timed(store.messagesAfter(...args)),
    activeMutes: (...args) => timed(store.activeMutes(...args)),
    activeBans: (...args) => timed(store.activeBans(...args)),
    slowModes: (...args) => timed(store.slowModes(...args)),
    write: (...args) => timed(store.write(...args)),
    deleteMessage: (...args) => timed(store.deleteMessage(...args)),
    deleteMute: (...args) => timed(store.deleteMute(...args)),
  };
}
