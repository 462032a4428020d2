import type { Env } from "./config.js";
import { edge } from "./http/edge.js";
import { cleanUp } from "./maintenance/cleanup.js";
import { consumeEvents } from "./queue/consumer.js";

export { AppRoom } from "./ordering/app-room.js";
export { ConnectionShard } from "./shard/connection-shard.js";

export default {
  fetch: edge.fetch,
  queue: consumeEvents,
  scheduled: async (controller, env) => void (await cleanUp(env, controller.scheduledTime)),
} satisfies ExportedHandler<Env>;
