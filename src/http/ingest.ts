import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as z from "zod";
import type { Env } from "../config.js";
import { QUEUE_MESSAGE_BYTES } from "../limits.js";
import { queueBatches } from "../queue/batches.js";
import { AppEvent } from "../queue/events.js";
import { findApp } from "../storage/d1-apps.js";
import { D1Credentials, type KeyOwner } from "../storage/d1-credentials.js";
import { bearer, isSecret } from "./bearer.js";
import { insufficientScope, jsonError, keyOfAnotherApp } from "./errors.js";
import { AppId } from "./query.js";

/** The most events one request may carry; a larger batch is a 400. */
export const MAX_EVENTS_PER_REQUEST = 100;
const MAX_BODY_BYTES = 1_000_000;

/** The app key that posts, or null for the platform's INGEST_TOKEN. */
type IngestEnv = { Bindings: Env; Variables: { key: KeyOwner | null } };

/**
 * `POST /v1/apps/:app_id/events`: producers that are not on Cloudflare publish here, and accepted events are
 * enqueued. The bearer is either the platform's `INGEST_TOKEN` secret (compared in constant time), good for
 * every app, or one of the app's keys with the scope `events:write`, looked up by digest, good for that app only.
 */
export function buildIngestApi(): Hono<IngestEnv> {
  /** A single event or an array of them; `app_id` may be left out, and must match the path when given. */
  const IngestBody = z.union([z.array(z.unknown()), z.unknown().transform((event) => [event])]).pipe(
    z.array(z.unknown()).min(1, "send at least one event").max(MAX_EVENTS_PER_REQUEST, `send at most ${MAX_EVENTS_PER_REQUEST} events per request`),
  );

  const ingest = new Hono<IngestEnv>();

  ingest.use(
    "/:app_id/events",
    bearer<IngestEnv>("INGEST_TOKEN or an app key", async (presented, c) => {
      if (await isSecret(c.env, "INGEST_TOKEN", presented)) {
        c.set("key", null);
        return true;
      }
      const key = await new D1Credentials(c.env.DB).liveKey(presented);
      c.set("key", key);
      return key !== null;
    }),
  );

  ingest.post(
    "/:app_id/events",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => jsonError(413, "PAYLOAD_TOO_LARGE", `the body must be at most ${MAX_BODY_BYTES} bytes`),
    }),
    async (c) => {
      const appId = AppId.safeParse(c.req.param("app_id"));
      if (!appId.success) return jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer");
      const key = c.get("key");
      if (key !== null && key.appId !== appId.data) return keyOfAnotherApp(key.appId);
      if (key !== null && !key.scopes.includes("events:write")) return insufficientScope("events:write");
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
      // Every event is checked against the Queue's message size before any is sent: a request is enqueued whole or not at all.
      const split = queueBatches(events.data);
      if ("tooLarge" in split) {
        const { index, bytes } = split.tooLarge;
        return jsonError(413, "EVENT_TOO_LARGE", `event ${events.data[index]!.id} takes ${bytes} bytes as a queue message; one takes at most ${QUEUE_MESSAGE_BYTES}`);
      }
      if (!(await findApp(c.env.DB, appId.data))) return jsonError(404, "UNKNOWN_APP", `there is no app with id ${appId.data}`);
      // One call per batch the Queue takes. A call that fails answers 500 after the earlier ones were sent: the
      // producer sends the request again, and the room delivers each event id once.
      for (const batch of split.batches) await c.env.EVENTS.sendBatch(batch.map((event) => ({ body: event, contentType: "json" as const })));
      return c.json({ accepted: events.data.map((event) => event.id) }, 202);
    },
  );

  return ingest;
}

function withAppId(event: unknown, appId: number): unknown {
  return typeof event === "object" && event !== null && !Array.isArray(event) && !("app_id" in event) ? { ...event, app_id: appId } : event;
}
