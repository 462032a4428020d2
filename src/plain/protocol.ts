import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";

/**
 * The plain-WebSocket protocol, in the style of plug.dj's socket API, for clients without socket.io.
 * Client frames are one JSON object `{ a: action, p?: param, t?: unix_seconds, id?: string }`; server frames are
 * JSON arrays of events `{ a: event, p: payload, s: channel or "dashboard" }`, plus the one-character `h`
 * heartbeat.
 */

export const ClientFrame = builtOnFirstUse(() => z.object(
  {
    a: z.string({ error: "a (the action) must be a string" }).min(1).max(64),
    p: z.unknown().optional(),
    t: z.number({ error: "t must be unix seconds" }).optional(),
    id: z.string({ error: "id must be a string" }).min(1).max(64).optional(),
  },
  { error: "a frame is a JSON object { a, p?, t?, id? }" },
));
export type ClientFrame = z.infer<typeof ClientFrame>;

export const HEARTBEAT = "h";

/** Close codes: the frame kind or size the protocol does not take. */
export const PlainCloseCode = {
  UNSUPPORTED_DATA: 1003,
  MESSAGE_TOO_BIG: 1009,
} as const;

/** One server event, encoded once; the slug is the message's channel, or "dashboard" for everything else. */
export function encodeEvent(event: string, payload: unknown): string {
  const channel = typeof payload === "object" && payload !== null && "channel" in payload ? payload.channel : undefined;
  return JSON.stringify({ a: event, p: payload, s: typeof channel === "string" ? channel : "dashboard" });
}
