import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";

/**
 * The events producers publish (on the Queue, or through the ingest endpoint that enqueues them). Every one has
 * a producer-chosen unique `id`, by which a replay is recognised and delivered once.
 */

const EventId = builtOnFirstUse(() => z.string().min(1, "id must be a non-empty string").max(128, "id must be at most 128 characters"));
const AppId = builtOnFirstUse(() => z.int("app_id must be an integer").positive("app_id must be positive"));
const Satoshis = builtOnFirstUse(() => z.int("amounts are integers (satoshis)"));

export const BalanceEvent = builtOnFirstUse(() => z.object({
  id: EventId,
  app_id: AppId,
  type: z.enum(["unconfirmed_balance_change", "balance_change"]),
  auth_id: z.int("auth_id must be an integer").positive(),
  balance: Satoshis.nonnegative("balance must be at least 0"),
  diff: Satoshis,
  /**
   * Optional: a number that grows with each change of this user's balance (a ledger sequence, or a time in
   * ms). The Queue does not keep order, so an event whose version is not above the last one shown for the
   * same user and type is not shown; without it, events are shown in the order they arrive.
   */
  version: z
    .int("version must be an integer")
    .nonnegative("version must be at least 0")
    .max(Number.MAX_SAFE_INTEGER, "version must be at most 2^53 - 1")
    .optional(),
}));
export type BalanceEvent = z.infer<typeof BalanceEvent>;

/** A bet as subscribers receive it: these fields at least, and whatever else the producer included. */
export const Bet = builtOnFirstUse(() => z.looseObject({
  id: z.int("bet.id must be an integer"),
  uname: z.string().min(1).max(64),
  wager: Satoshis.nonnegative("bet.wager must be at least 0"),
  profit: Satoshis,
}));
export type Bet = z.infer<typeof Bet>;

export const BetEvent = builtOnFirstUse(() => z.object({
  id: EventId,
  app_id: AppId,
  type: z.literal("new_bet"),
  bet: Bet,
}));
export type BetEvent = z.infer<typeof BetEvent>;

export const AppEvent = builtOnFirstUse(() => z.discriminatedUnion("type", [BalanceEvent, BetEvent], {
  error: 'type must be "unconfirmed_balance_change", "balance_change" or "new_bet"',
}));
export type AppEvent = z.infer<typeof AppEvent>;
