import { Hono } from "hono";
import { cors } from "hono/cors";
import { discardBody } from "../http/body.js";

export { ConformanceRoom } from "./conformance-room.js";

interface ConformanceEnv {
  ROOMS: DurableObjectNamespace;
}

/**
 * The conformance server (`npm run conformance`): Engine.IO as an echo server at /engine.io/ and Socket.IO's
 * reference test application at /socket.io/, both in one Durable Object running the production protocol code.
 */
const conformance = new Hono<{ Bindings: ConformanceEnv }>();

conformance.use(async (c, next) => {
  await next();
  await discardBody(c.req.raw);
});
conformance.use("*", cors({ origin: "*" }));

for (const path of ["/engine.io/", "/socket.io/"]) {
  conformance.all(path, (c) => c.env.ROOMS.get(c.env.ROOMS.idFromName("conformance")).fetch(c.req.raw));
}

export default conformance;
