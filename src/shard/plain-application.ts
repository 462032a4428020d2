import * as z from "zod";
import type { PacketData } from "../engine.io/packet.js";
import { ClientFrame, PlainCloseCode, encodeEvent } from "../plain/protocol.js";
import { describeIssues } from "../socketpot/schemas.js";
import { respond, type Ack } from "./respond.js";
import { ErrorCode } from "../socketpot/errors.js";
import type { Connection } from "./connection.js";
import type { EngineApplication } from "./engine-room.js";
import type { Gateway } from "./gateway.js";

/** Actions of the plain protocol and the Socketpot request each one is. */
const REQUESTS: Readonly<Record<string, string>> = { auth: "auth", chat: "new_message" };

/**
 * Socketpot over plain WebSockets: each frame is parsed with zod and becomes the same room request a
 * socket.io client would make, so rules (validation, rate limit, mutes) cannot drift between the two.
 * A frame with an `id` gets exactly one reply event: `ack` `{ id, result }` or `error` `{ id, error }`.
 */
export class PlainApplication implements EngineApplication {
  constructor(
    private readonly gateway: Gateway,
    private readonly maxPayloadBytes: number,
  ) {}

  opened(connection: Connection): void {
    this.gateway.arrive(connection);
  }

  async message(connection: Connection, data: PacketData): Promise<void> {
    if (typeof data !== "string") {
      return this.violated(connection, PlainCloseCode.UNSUPPORTED_DATA, "binary frames are not part of the protocol; send JSON text");
    }
    // A UTF-16 code unit is at most three bytes of UTF-8: only a frame that could be over the limit is encoded to tell.
    const mayBeOver = data.length * 3 > this.maxPayloadBytes;
    if (data.length > this.maxPayloadBytes || (mayBeOver && new TextEncoder().encode(data).byteLength > this.maxPayloadBytes)) {
      return this.violated(connection, PlainCloseCode.MESSAGE_TOO_BIG, `frame larger than ${this.maxPayloadBytes} bytes`);
    }
    const frame = parseFrame(data);
    if (!frame.success) return reply(connection, "error", { id: null, error: ErrorCode.INVALID_FRAME, message: frame.reason });
    const { a: action, p: param, id } = frame.data;
    const ack: Ack | null =
      id === undefined ? null : ([error, result]) => reply(connection, error ? "error" : "ack", error ? { id, error } : { id, result });
    if (action === "ping") {
      if (ack) ack([null, "pong"]);
      else reply(connection, "pong", Math.floor(Date.now() / 1000));
      return;
    }
    const payload = action === "chat" && typeof param === "string" ? { text: param } : param;
    await this.gateway.request(connection, REQUESTS[action] ?? action, payload, (outcome) => respond(connection, outcome, ack));
  }

  expired(connection: Connection): void {
    this.gateway.authExpired(connection);
  }

  violated(connection: Connection, code: number, reason: string): void {
    connection.emit("client_error", `${reason}; closing the connection`);
    connection.wire.close(code, reason);
  }

  ended(connection: Connection, reason: string): void {
    this.gateway.leave(connection, reason);
  }
}

/** The protocol's own replies (not room events): `ack`, `error`, `pong`. */
function reply(connection: Connection, event: "ack" | "error" | "pong", payload: unknown): void {
  connection.plain?.queue(encodeEvent(event, payload));
}

function parseFrame(text: string): { success: true; data: ClientFrame } | { success: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { success: false, reason: "a frame must be JSON" };
  }
  const parsed = ClientFrame.safeParse(json);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, reason: describeIssues(parsed.error as z.ZodError) };
}
