import type { Env } from "./config.js";
import { edge } from "./http/edge.js";

export { AppRoom } from "./room/app-room.js";

export default {
  fetch: edge.fetch,
} satisfies ExportedHandler<Env>;
