import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { hexOf } from "../ids.js";

/** What an app's webhook endpoints may subscribe to (docs/webhooks.md says what each carries). */
export const WEBHOOK_EVENT_TYPES = [
  "message.created",
  "message.deleted",
  "user.joined",
  "user.left",
  "user.muted",
  "user.unmuted",
  "user.banned",
  "user.unbanned",
  "deposit.delivered",
] as const;
export const WebhookEventType = builtOnFirstUse(() => z.enum(WEBHOOK_EVENT_TYPES, { error: `event types are ${WEBHOOK_EVENT_TYPES.join(", ")}` }));
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** What an event carries, as the room hands it over (kept by reference until the handover: never changed after). */
export type WebhookData = object;

/** One event as an endpoint receives it: the body of one request. */
export const WebhookEvent = builtOnFirstUse(() => z.object({
  id: z.string().regex(/^evt_[0-9a-f]{24}$/),
  type: WebhookEventType,
  app_id: z.int().positive(),
  created_at: z.iso.datetime(),
  data: z.looseObject({}),
}));
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** A message on the webhook Queue: one event for one endpoint, so that each endpoint's failures retry alone. */
export const WebhookDelivery = builtOnFirstUse(() => z.object({ endpoint_id: z.int().positive(), event: WebhookEvent }));
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/**
 * Event ids that sort, as strings, in the order one room made them: its clock in ms, a counter within the ms,
 * and random bits drawn once per room activation (so that two activations of a room in the same ms, or two
 * apps, never share one). The Queue does not keep order; the id is what a receiver orders an app's events by.
 */
export class EventIds {
  private lastMs = 0;
  private counter = 0;
  private readonly activation = hexOf(crypto.getRandomValues(new Uint8Array(4)));

  next(now: number): string {
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = 0;
    } else if (++this.counter > 0xffff) {
      this.lastMs += 1;
      this.counter = 0;
    }
    return `evt_${this.lastMs.toString(16).padStart(12, "0")}${this.counter.toString(16).padStart(4, "0")}${this.activation}`;
  }
}
