import { encodePacket as encodeEnginePacket } from "../engine.io/encode.js";
import type { EngineProtocol, Frame, PacketData } from "../engine.io/packet.js";
import { encodeEvent } from "../plain/protocol.js";
import { encodePacket as encodeSocketPacket } from "../socket.io/encode.js";
import { PacketType } from "../socket.io/packet.js";

/**
 * One event for many connections, encoded at most once per wire format and then shared: the Socket.IO
 * messages, their WebSocket frames per Engine.IO revision, and the plain-protocol event.
 */
export class EncodedEvent {
  private messages: PacketData[] | null = null;
  private readonly frames = new Map<EngineProtocol, Frame[]>();
  private plain: string | null = null;

  constructor(
    readonly event: string,
    readonly payload: unknown,
  ) {}

  socketIoMessages(): PacketData[] {
    this.messages ??= encodeSocketPacket({ type: PacketType.EVENT, nsp: "/", data: [this.event, this.payload] });
    return this.messages;
  }

  socketIoFrames(protocol: EngineProtocol): Frame[] {
    let frames = this.frames.get(protocol);
    if (!frames) {
      frames = this.socketIoMessages().map((data) => encodeEnginePacket({ type: "message", data }, protocol));
      this.frames.set(protocol, frames);
    }
    return frames;
  }

  plainEvent(): string {
    this.plain ??= encodeEvent(this.event, this.payload);
    return this.plain;
  }
}
