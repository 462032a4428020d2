import { decodePacket } from "./decode.js";
import type { EngineProtocol, Frame, Handshake, Packet, PacketData } from "./packet.js";

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
  /** v4: when the outstanding server ping counts as sent, or null when none is outstanding. */
  pingSentAt: number | null;
  /** v4: when the server last pinged; v3: when the client last pinged (or the connection opened). */
  lastPingAt: number;
}

/** What an Engine.IO socket needs from whatever carries its packets (a WebSocket, or long-polling). */
export interface EngineLink {
  send(packet: Packet): void;
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
 * The Engine.IO protocol of one connection, whatever its transport. It holds no timers: {@link heartbeat} is
 * called by the owner's clock (a Durable Object alarm, or an incoming request) and says when it is next due.
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

  /** The `open` packet that starts every connection. */
  handshake(upgrades: string[]): Packet {
    const handshake: Handshake = {
      sid: this.state.sid,
      upgrades,
      pingInterval: this.options.pingIntervalMs,
      pingTimeout: this.options.pingTimeoutMs,
      maxPayload: this.options.maxPayloadBytes,
    };
    return { type: "open", data: JSON.stringify(handshake) };
  }

  /** Handles one WebSocket frame: the size limit, then the packet it holds. */
  receive(frame: Frame, now: number): ReceiveResult {
    if (exceeds(frame, this.options.maxPayloadBytes)) {
      return reject(CloseCode.MESSAGE_TOO_BIG, `frame larger than maxPayload (${this.options.maxPayloadBytes} bytes)`);
    }
    const packet = decodePacket(frame, this.state.protocol);
    if (packet.type === "error") return reject(CloseCode.PROTOCOL_ERROR, `parse error: ${packet.reason}`);
    return this.receivePacket(packet, now);
  }

  /** Handles one decoded packet from the client. */
  receivePacket(packet: Packet, now: number): ReceiveResult {
    switch (packet.type) {
      case "message":
        return { kind: "messages", messages: packet.data === undefined ? [""] : [packet.data] };
      case "ping":
        if (this.state.protocol !== 3) return reject(CloseCode.PROTOCOL_ERROR, "invalid heartbeat direction");
        this.state.lastPingAt = now;
        this.link.send({ type: "pong" });
        return { kind: "messages", messages: [] };
      case "pong":
        if (this.state.protocol !== 4) return reject(CloseCode.PROTOCOL_ERROR, "invalid heartbeat direction");
        this.state.pingSentAt = null;
        return { kind: "messages", messages: [] };
      case "close":
        return { kind: "closed", reason: "transport close" };
      case "noop":
      case "upgrade":
        return { kind: "messages", messages: [] };
      case "open":
        return reject(CloseCode.PROTOCOL_ERROR, "parse error: clients do not send open packets");
    }
  }

  /** v3: the client pinged at `at` (answered by someone else, such as the runtime's WebSocket auto-response). */
  clientPinged(at: number): void {
    if (this.state.protocol === 3 && at > this.state.lastPingAt) this.state.lastPingAt = at;
  }

  send(messages: PacketData[]): void {
    for (const data of messages) this.link.send({ type: "message", data });
  }

  /**
   * Advances the heartbeat: in v4 sends a ping that is due by `horizon` (the caller may look a little ahead, to
   * serve nearby connections in one wake); in both revisions reports a peer silent for too long at `now`.
   * Returns false when the connection timed out (the caller closes it).
   *
   * A ping counts as sent when it was due, so a clock that runs a little late does not lengthen the time a
   * silent peer is given; if it ran later than half the timeout, or early, the ping counts from now, so that an
   * answering peer always gets at least half its time.
   */
  heartbeat(now: number, horizon = now): boolean {
    const { state, options } = this;
    if (state.protocol === 3) return now < state.lastPingAt + options.pingIntervalMs + options.pingTimeoutMs;
    if (state.pingSentAt !== null) return now < state.pingSentAt + options.pingTimeoutMs;
    const due = state.lastPingAt + options.pingIntervalMs;
    if (horizon >= due) {
      const sentAt = now >= due && now - due <= options.pingTimeoutMs / 2 ? due : now;
      this.link.send({ type: "ping" });
      state.pingSentAt = sentAt;
      state.lastPingAt = sentAt;
      return now < sentAt + options.pingTimeoutMs;
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
