import type { Env } from "./config.js";
import { edge } from "./http/edge.js";
import { cleanUp } from "./maintenance/cleanup.js";
import { consumeEvents } from "./queue/consumer.js";
import { consumeWebhooks } from "./webhooks/consumer.js";
import { WEBHOOK_QUEUE } from "./webhooks/outbox.js";

export { AppRoom } from "./ordering/app-room.js";
export { ConnectionShard } from "./shard/connection-shard.js";

export default {
  fetch: edge.fetch,
  // One handler serves both queues: deposit and bet events for the rooms, and webhook deliveries.
  queue: (batch, env) => (batch.queue === WEBHOOK_QUEUE ? consumeWebhooks(batch, env) : consumeEvents(batch, env)),
  scheduled: async (controller, env) => void (await cleanUp(env, controller.scheduledTime)),
} satisfies ExportedHandler<Env>;
