import type { ServerEvent } from "./room.js";
import type { Audience } from "./schemas.js";

/**
 * A position in the feed the ordering room sends one shard: the room's activation (`epoch`; numbering starts
 * again when the room restarts), the number of the last broadcast sent to that shard, and the recovery log's
 * offset at that moment (null without a log).
 */
export interface FeedMark {
  epoch: string;
  seq: number;
  offset: string | null;
}

/** One broadcast on its way to a shard, which encodes it once per wire format and sends it to its clients in the audience. */
export interface FeedItem extends FeedMark {
  audience: Audience;
  event: ServerEvent;
  payload: unknown;
  /** The client the broadcast is not for (the one whose arrival `user_joined` announces). */
  exceptId: string | null;
}

/** Whether `item` comes after `mark`: a session started at `mark` gets it. Another epoch is always later. */
export function isAfter(item: FeedMark, mark: FeedMark | null): boolean {
  return mark === null || item.epoch !== mark.epoch || item.seq > mark.seq;
}

/** The later of two recovery log offsets. */
export function laterOffset(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  return b === null || Number(a) >= Number(b) ? a : b;
}
