import type { Runtime } from "../deadline.js";
import { log } from "../log.js";
import { chunksBySize } from "../chunks.js";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_BYTES } from "../limits.js";
import { queueMessageBytes } from "../queue/batches.js";
import { EventIds, type WebhookData, type WebhookDelivery, type WebhookEvent, type WebhookEventType } from "./events.js";

/** The webhook Queue's name, as wrangler.toml declares it: its batches go to src/webhooks/consumer.ts. */
export const WEBHOOK_QUEUE = "socketpot-webhooks";

/** An enabled endpoint of the app, and the event types it takes. */
export interface WebhookSubscription {
  id: number;
  events: WebhookEventType[];
}

/** Where the outbox reads the app's endpoints and hands deliveries over (D1 and the webhook Queue). */
export interface WebhookSink {
  subscriptions(): Promise<WebhookSubscription[]>;
  send(deliveries: WebhookDelivery[]): Promise<void>;
}

/** How long events gather before they go to the Queue together: one `sendBatch` for a burst, not one each. */
const GATHER_MS = 250;
/** Events held while the Queue or D1 cannot be reached; past it the oldest are dropped (and logged). */
const MAX_HELD = 10_000;
/** Attempts at one handover before its events are dropped (and logged): the room never waits on a webhook. */
const HANDOVER_ATTEMPTS = 3;

/**
 * A room's webhook events on their way to the Queue. The room's paths only call {@link emit}: while the app has
 * no endpoint for a type, that is one lookup; otherwise the event is kept in memory and handed over with the
 * others of the next {@link GATHER_MS}, after the room's work, so that no endpoint (slow, failing or many)
 * ever slows a chat message. The app's endpoints are read when first needed and after they change.
 */
export class WebhookOutbox {
  /** Event type → the endpoints that take it; null until read (events are then kept, and sorted once known). */
  private subscribers: Map<WebhookEventType, number[]> | null = null;
  private reading: Promise<Map<WebhookEventType, number[]>> | null = null;
  /** Events as the room emitted them: made into {@link WebhookEvent}s (ids, dates) at the handover, off its path. */
  private held: Array<{ type: WebhookEventType; at: number; data: WebhookData }> = [];
  private handingOver = false;
  private readonly ids = new EventIds();

  constructor(
    private readonly appId: number,
    private readonly sink: WebhookSink,
    private readonly clock: Pick<Runtime, "now" | "later" | "hold">,
  ) {}

  emit(type: WebhookEventType, data: WebhookData): void {
    if (this.subscribers && !this.subscribers.has(type)) return;
    this.held.push({ type, at: this.clock.now(), data });
    if (this.held.length > MAX_HELD) {
      const dropped = this.held.splice(0, this.held.length - MAX_HELD);
      log("webhook_events_dropped", { app_id: this.appId, events: dropped.length, reason: "too many held" });
    }
    // Held by the object (ctx.waitUntil) until the Queue took it, as its other work is.
    if (this.held.length === 1 && !this.handingOver) this.clock.later(GATHER_MS, () => this.clock.hold(this.handOver()));
  }

  /** The app's endpoints changed: they are read again before the next handover. */
  changed(): void {
    this.subscribers = null;
    this.reading = null;
  }

  private async endpoints(): Promise<Map<WebhookEventType, number[]>> {
    const reading = (this.reading ??= this.sink.subscriptions().then(
      (subscriptions) => {
        const byType = new Map<WebhookEventType, number[]>();
        for (const { id, events } of subscriptions) for (const type of events) byType.set(type, [...(byType.get(type) ?? []), id]);
        return byType;
      },
      (error: unknown) => {
        // A failed read is tried again at the next handover (unless a change started a newer one).
        if (this.reading === reading) this.reading = null;
        throw error;
      },
    ));
    const byType = await reading;
    // A change while it was read: this read stands for this handover only.
    if (this.reading === reading) this.subscribers = byType;
    return byType;
  }

  /** Hands the held events over, and those that come meanwhile; a failed handover is tried again, then dropped. */
  private async handOver(): Promise<void> {
    this.handingOver = true;
    try {
      while (this.held.length > 0) {
        // Ids are given in the order of emission, once: a retried handover sends the same ones.
        const events = this.held.splice(0).map(({ type, at, data }): WebhookEvent => ({ id: this.ids.next(at), type, app_id: this.appId, created_at: new Date(at).toISOString(), data: data as Record<string, unknown> }));
        for (let attempt = 1; ; attempt++) {
          try {
            await this.send(events);
            break;
          } catch (error) {
            if (attempt === HANDOVER_ATTEMPTS) {
              log("webhook_events_dropped", { app_id: this.appId, events: events.length, reason: String(error) });
              break;
            }
            await new Promise<void>((resolve) => this.clock.later(GATHER_MS * 2 ** attempt, resolve));
          }
        }
      }
    } finally {
      this.handingOver = false;
    }
  }

  /** One Queue message per event and endpoint that takes it, in `sendBatch` calls within the Queue's limits. */
  private async send(events: WebhookEvent[]): Promise<void> {
    const byType = await this.endpoints();
    const deliveries: WebhookDelivery[] = [];
    const sizes: number[] = [];
    let tooLarge = 0;
    for (const event of events) {
      const endpoints = byType.get(event.type);
      if (!endpoints) continue;
      // An event's size once, whatever its endpoints: theirs differ only in a number of a few digits.
      const bytes = queueMessageBytes({ endpoint_id: Number.MAX_SAFE_INTEGER, event });
      if (bytes > QUEUE_MESSAGE_BYTES) {
        tooLarge += endpoints.length;
        continue;
      }
      for (const endpoint_id of endpoints) {
        deliveries.push({ endpoint_id, event });
        sizes.push(bytes);
      }
    }
    if (tooLarge > 0) log("webhook_events_dropped", { app_id: this.appId, events: tooLarge, reason: "larger than a Queue message" });
    for (const batch of chunksBySize(deliveries, sizes, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES)) await this.sink.send(batch);
  }
}
