import { PacketType, type Packet } from "./packet.js";

/**
 * Encodes a packet as Engine.IO message payloads: one string, followed by one binary payload per attachment
 * when the data holds binary (then EVENT and ACK become their BINARY_ variants, with placeholders).
 */
export function encodePacket(packet: Packet): Array<string | Uint8Array> {
  const attachments: Uint8Array[] = [];
  // Payloads are almost never binary: a read-only scan first spares copying every object of the ones that are not.
  const data = packet.data === undefined || !hasBinary(packet.data) ? packet.data : extractBinary(packet.data, attachments);
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

const isBinary = (value: unknown): value is Uint8Array | ArrayBuffer => value instanceof Uint8Array || value instanceof ArrayBuffer;

function hasBinary(value: unknown): boolean {
  if (isBinary(value)) return true;
  if (Array.isArray(value)) return value.some(hasBinary);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    for (const key in value) if (Object.hasOwn(value, key) && hasBinary((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function extractBinary(value: unknown, attachments: Uint8Array[]): unknown {
  if (isBinary(value)) {
    attachments.push(value instanceof ArrayBuffer ? new Uint8Array(value) : value);
    return { _placeholder: true, num: attachments.length - 1 };
  }
  if (Array.isArray(value)) return value.map((item) => extractBinary(item, attachments));
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, extractBinary(item, attachments)]));
  }
  return value;
}
