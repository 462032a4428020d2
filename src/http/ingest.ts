import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Env } from "../config.js";
import { AppEvent } from "../queue/events.js";
import { findApp } from "../storage/d1-apps.js";
import { requireSecret } from "./bearer.js";
import { jsonError } from "./errors.js";
import { AppId } from "./query.js";

/** The most events one request may carry; a larger batch is a 400. */
export const MAX_EVENTS_PER_REQUEST = 100;
const MAX_BODY_BYTES = 1_000_000;

/** A single event or an array of them; `app_id` may be left out, and must match the path when given. */
const IngestBody = z.union([z.array(z.unknown()), z.unknown().transform((event) => [event])]).pipe(
  z.array(z.unknown()).min(1, "send at least one event").max(MAX_EVENTS_PER_REQUEST, `send at most ${MAX_EVENTS_PER_REQUEST} events per request`),
);

/**
 * `POST /v1/apps/:app_id/events`: producers that are not on Cloudflare publish here. The bearer token is the
 * `INGEST_TOKEN` secret (compared in constant time by Hono's middleware); accepted events are enqueued.
 */
export const ingest = new Hono<{ Bindings: Env }>();

ingest.use("/:app_id/events", requireSecret("INGEST_TOKEN"));

ingest.post(
  "/:app_id/events",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => jsonError(413, "PAYLOAD_TOO_LARGE", `the body must be at most ${MAX_BODY_BYTES} bytes`),
  }),
  async (c) => {
    const appId = AppId.safeParse(c.req.param("app_id"));
    if (!appId.success) return jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer");
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return jsonError(400, "INVALID_JSON", "the body must be JSON: one event or an array of events");
    }
    const body = IngestBody.safeParse(json);
    if (!body.success) return jsonError(400, "INVALID_EVENTS", z.prettifyError(body.error), body.error.issues);
    const events = z.array(AppEvent).safeParse(body.data.map((event) => withAppId(event, appId.data)));
    if (!events.success) return jsonError(400, "INVALID_EVENTS", z.prettifyError(events.error), events.error.issues);
    const foreign = events.data.find((event) => event.app_id !== appId.data);
    if (foreign) return jsonError(400, "INVALID_EVENTS", `event ${foreign.id} names app ${foreign.app_id}, not ${appId.data}`);
    if (!(await findApp(c.env.DB, appId.data))) return jsonError(404, "UNKNOWN_APP", `there is no app with id ${appId.data}`);
    await c.env.EVENTS.sendBatch(events.data.map((event) => ({ body: event, contentType: "json" as const })));
    return c.json({ accepted: events.data.map((event) => event.id) }, 202);
  },
);

function withAppId(event: unknown, appId: number): unknown {
  return typeof event === "object" && event !== null && !Array.isArray(event) && !("app_id" in event) ? { ...event, app_id: appId } : event;
}
