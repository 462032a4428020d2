import type { Env } from "./config.js";
import { deferred } from "./deferred.js";
import { edge } from "./http/edge.js";
import { WEBHOOK_QUEUE } from "./webhooks/outbox.js";

export { AppRoom } from "./ordering/app-room.js";
export { ConnectionShard } from "./shard/connection-shard.js";

export default {
  fetch: edge.fetch,
  // One handler serves both queues: deposit and bet events for the rooms, and webhook deliveries.
  queue: async (batch, env) =>
    batch.queue === WEBHOOK_QUEUE
      ? (await deferred.webhookConsumer.get()).consumeWebhooks(batch, env)
      : (await deferred.eventConsumer.get()).consumeEvents(batch, env),
  scheduled: async (controller, env) => void (await (await deferred.cleanup.get()).cleanUp(env, controller.scheduledTime)),
} satisfies ExportedHandler<Env>;
