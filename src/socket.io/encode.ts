import { PacketType, type Packet } from "./packet.js";

/**
 * Encodes a packet as Engine.IO message payloads: one string, followed by one binary payload per attachment
 * when the data holds binary (then EVENT and ACK become their BINARY_ variants, with placeholders).
 */
export function encodePacket(packet: Packet): Array<string | Uint8Array> {
  const attachments: Uint8Array[] = [];
  const data = packet.data === undefined ? undefined : extractBinary(packet.data, attachments);
  let type: PacketType = packet.type;
  if (attachments.length > 0) {
    if (type === PacketType.EVENT) type = PacketType.BINARY_EVENT;
    else if (type === PacketType.ACK) type = PacketType.BINARY_ACK;
  }
  let head = String(type);
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) head += `${attachments.length}-`;
  if (packet.nsp !== "/") head += `${packet.nsp},`;
  if (packet.id !== undefined) head += String(packet.id);
  if (data !== undefined) head += JSON.stringify(data);
  return [head, ...attachments];
}

function extractBinary(value: unknown, attachments: Uint8Array[]): unknown {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    attachments.push(value instanceof ArrayBuffer ? new Uint8Array(value) : value);
    return { _placeholder: true, num: attachments.length - 1 };
  }
  if (Array.isArray(value)) return value.map((item) => extractBinary(item, attachments));
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, extractBinary(item, attachments)]));
  }
  return value;
}
