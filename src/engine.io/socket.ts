import { decodePacket } from "./decode.js";
import { encodePacket } from "./encode.js";
import type { EngineProtocol, Frame, Handshake, PacketData } from "./packet.js";

/** The heartbeat and limits of an Engine.IO server. */
export interface EngineOptions {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  maxPayloadBytes: number;
}

/**
 * The Engine.IO state of one connection. It is plain data so that it can live in a hibernating WebSocket's
 * attachment and be read back after the Durable Object wakes.
 */
export interface EngineState {
  sid: string;
  protocol: EngineProtocol;
  /** v4: when the outstanding server ping was sent, or null when none is outstanding. */
  pingSentAt: number | null;
  /** v4: when the server last sent a ping; v3: when the client last sent one (or the connection opened). */
  lastPingAt: number;
}

/** What an Engine.IO socket needs from the transport below it. */
export interface EngineLink {
  send(frame: Frame): void;
  close(code: number, reason: string): void;
}

/**
 * What a frame amounted to: messages for the layer above, the client closing, or a protocol violation that
 * the caller answers (explaining it to the client if it can) by closing with `code`.
 */
export type ReceiveResult =
  | { kind: "messages"; messages: PacketData[] }
  | { kind: "closed"; reason: string }
  | { kind: "rejected"; code: number; reason: string };

/** WebSocket close codes the server uses. */
export const CloseCode = {
  NORMAL: 1000,
  PROTOCOL_ERROR: 1002,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
} as const;

/**
 * The Engine.IO protocol of one connection, over a transport that delivers whole frames. It holds no timers:
 * {@link heartbeat} is called by the owner's clock (a Durable Object alarm) and returns when it is next due.
 */
export class EngineSocket {
  constructor(
    readonly state: EngineState,
    private readonly link: EngineLink,
    private readonly options: EngineOptions,
  ) {}

  static initialState(sid: string, protocol: EngineProtocol, now: number): EngineState {
    return { sid, protocol, pingSentAt: null, lastPingAt: now };
  }

  /** Sends the `open` packet that starts every connection. */
  open(upgrades: string[]): void {
    const handshake: Handshake = {
      sid: this.state.sid,
      upgrades,
      pingInterval: this.options.pingIntervalMs,
      pingTimeout: this.options.pingTimeoutMs,
      maxPayload: this.options.maxPayloadBytes,
    };
    this.link.send(encodePacket({ type: "open", data: JSON.stringify(handshake) }, this.state.protocol));
  }

  /** Handles one frame from the client. */
  receive(frame: Frame, now: number): ReceiveResult {
    if (exceeds(frame, this.options.maxPayloadBytes)) {
      return reject(CloseCode.MESSAGE_TOO_BIG, `frame larger than maxPayload (${this.options.maxPayloadBytes} bytes)`);
    }
    const packet = decodePacket(frame, this.state.protocol);
    switch (packet.type) {
      case "error":
        return reject(CloseCode.PROTOCOL_ERROR, `parse error: ${packet.reason}`);
      case "message":
        return { kind: "messages", messages: packet.data === undefined ? [""] : [packet.data] };
      case "ping":
        if (this.state.protocol !== 3) return reject(CloseCode.PROTOCOL_ERROR, "invalid heartbeat direction");
        this.state.lastPingAt = now;
        this.link.send(encodePacket({ type: "pong", data: packet.data ?? "" }, 3));
        return { kind: "messages", messages: [] };
      case "pong":
        if (this.state.protocol !== 4) return reject(CloseCode.PROTOCOL_ERROR, "invalid heartbeat direction");
        this.state.pingSentAt = null;
        return { kind: "messages", messages: [] };
      case "close":
        this.link.close(CloseCode.NORMAL, "client close");
        return { kind: "closed", reason: "transport close" };
      case "noop":
      case "upgrade":
        return { kind: "messages", messages: [] };
      case "open":
        return reject(CloseCode.PROTOCOL_ERROR, "parse error: clients do not send open packets");
    }
  }

  /** Sends Engine.IO message packets. */
  send(messages: PacketData[]): void {
    for (const data of messages) this.link.send(encodePacket({ type: "message", data }, this.state.protocol));
  }

  /**
   * Advances the heartbeat to `now`: in v4 sends a ping when one is due; in both revisions reports a peer that
   * has been silent too long. Returns false when the connection timed out (the caller closes it).
   */
  heartbeat(now: number): boolean {
    const { state, options } = this;
    if (state.protocol === 3) return now < state.lastPingAt + options.pingIntervalMs + options.pingTimeoutMs;
    if (state.pingSentAt !== null) return now < state.pingSentAt + options.pingTimeoutMs;
    if (now >= state.lastPingAt + options.pingIntervalMs) {
      this.link.send(encodePacket({ type: "ping" }, 4));
      state.pingSentAt = now;
      state.lastPingAt = now;
    }
    return true;
  }

  /** When {@link heartbeat} next has something to do. */
  nextHeartbeatAt(): number {
    const { state, options } = this;
    if (state.protocol === 3) return state.lastPingAt + options.pingIntervalMs + options.pingTimeoutMs;
    if (state.pingSentAt !== null) return state.pingSentAt + options.pingTimeoutMs;
    return state.lastPingAt + options.pingIntervalMs;
  }

  /** Closes the connection from the server side. */
  close(code: number, reason: string): void {
    this.link.close(code, reason);
  }

}

function reject(code: number, reason: string): ReceiveResult {
  return { kind: "rejected", code, reason };
}

/** Whether a frame's UTF-8 size is over the limit; a string is only encoded when its length leaves it in doubt. */
function exceeds(frame: Frame, limitBytes: number): boolean {
  if (typeof frame !== "string") return frame.byteLength > limitBytes;
  if (frame.length * 3 <= limitBytes) return false;
  return frame.length > limitBytes || new TextEncoder().encode(frame).byteLength > limitBytes;
}
