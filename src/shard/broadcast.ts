import { encodePacket as encodeEnginePacket } from "../engine.io/encode.js";
import type { EngineProtocol, Frame, PacketData } from "../engine.io/packet.js";
import { encodeEvent } from "../plain/protocol.js";
import { encodePacket as encodeSocketPacket } from "../socket.io/encode.js";
import { PacketType } from "../socket.io/packet.js";

/**
 * One event for many connections, encoded at most once per wire format and then shared: the Socket.IO
 * messages (with the offset as a last argument for clients that recover sessions, and without), their
 * WebSocket frames per Engine.IO revision, and the plain-protocol event.
 */
export class EncodedEvent {
  private readonly messages = new Map<boolean, PacketData[]>();
  private readonly frames = new Map<string, Frame[]>();
  private plain: string | null = null;

  constructor(
    readonly event: string,
    readonly payload: unknown,
    /** The broadcast's offset in the room's recovery log, when it keeps one. */
    readonly offset: string | null = null,
  ) {}

  socketIoMessages(withOffset: boolean): PacketData[] {
    const stamped = withOffset && this.offset !== null;
    let messages = this.messages.get(stamped);
    if (!messages) {
      const data = stamped ? [this.event, this.payload, this.offset] : [this.event, this.payload];
      messages = encodeSocketPacket({ type: PacketType.EVENT, nsp: "/", data });
      this.messages.set(stamped, messages);
    }
    return messages;
  }

  socketIoFrames(protocol: EngineProtocol, withOffset: boolean): Frame[] {
    const key = `${protocol}:${withOffset}`;
    let frames = this.frames.get(key);
    if (!frames) {
      frames = this.socketIoMessages(withOffset).map((data) => encodeEnginePacket({ type: "message", data }, protocol));
      this.frames.set(key, frames);
    }
    return frames;
  }

  plainEvent(): string {
    this.plain ??= encodeEvent(this.event, this.payload);
    return this.plain;
  }
}
