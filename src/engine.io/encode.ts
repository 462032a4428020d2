import { PACKET_CODES, type EngineProtocol, type Frame, type Packet } from "./packet.js";

/**
 * Encodes one packet as a WebSocket frame. Text packets are their type digit followed by the data. Binary
 * message packets are sent as they are in v4; v3 puts the type code as the first byte.
 */
export function encodePacket(packet: Packet, protocol: EngineProtocol): Frame {
  const code = PACKET_CODES[packet.type];
  const { data } = packet;
  if (data instanceof Uint8Array) {
    if (protocol === 4) return data;
    const framed = new Uint8Array(data.byteLength + 1);
    framed[0] = Number(code);
    framed.set(data, 1);
    return framed;
  }
  return code + (data ?? "");
}
