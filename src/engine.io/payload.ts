import { encodeBase64 } from "./base64.js";
import { decodePacket } from "./decode.js";
import { encodePacket } from "./encode.js";
import { PACKET_CODES, type DecodeError, type EngineProtocol, type Packet } from "./packet.js";

/**
 * HTTP long-polling payloads: several packets in one request or response body.
 * - v4: packets joined by the record separator; binary packets as `b<base64>`.
 * - v3 text: each packet as `<length>:<packet>`, binary as `b<type><base64>`.
 * - v3 binary (clients that support it): per packet a 0 (text) or 1 (binary) byte, the length as decimal digit
 *   bytes, a 255 byte, then the packet (text as UTF-8; binary with its type as first byte).
 */

const SEPARATOR = "\x1e";

export type PayloadBody = string | Uint8Array;

export function encodePayload(packets: Packet[], protocol: EngineProtocol, supportsBinary: boolean): PayloadBody {
  if (protocol === 4) return packets.map((packet) => encodeText(packet, 4)).join(SEPARATOR);
  if (supportsBinary && packets.some((packet) => packet.data instanceof Uint8Array)) return encodeBinaryPayload(packets);
  return packets
    .map((packet) => encodeText(packet, 3))
    .map((text) => `${text.length}:${text}`)
    .join("");
}

/** Decodes a request body; the first undecodable packet makes the whole payload an error. */
export function decodePayload(body: PayloadBody, protocol: EngineProtocol): Packet[] | DecodeError {
  const texts = typeof body !== "string" ? null : protocol === 4 ? body.split(SEPARATOR) : splitV3Text(body);
  const frames = texts ?? (protocol === 3 ? splitV3Binary(body as Uint8Array) : null);
  if (frames === null) return { type: "error", reason: "malformed payload framing" };
  const packets: Packet[] = [];
  for (const frame of frames) {
    const packet = decodePacket(frame, protocol);
    if (packet.type === "error") return packet;
    packets.push(packet);
  }
  return packets;
}

function encodeText(packet: Packet, protocol: EngineProtocol): string {
  if (packet.data instanceof Uint8Array) {
    const base64 = encodeBase64(packet.data);
    return protocol === 4 ? `b${base64}` : `b${PACKET_CODES[packet.type]}${base64}`;
  }
  return encodePacket(packet, protocol) as string;
}

function splitV3Text(body: string): string[] | null {
  const frames: string[] = [];
  let cursor = 0;
  while (cursor < body.length) {
    const colon = body.indexOf(":", cursor);
    const digits = body.slice(cursor, colon);
    if (colon < 0 || !/^\d{1,10}$/.test(digits)) return null;
    const length = Number(digits);
    const frame = body.slice(colon + 1, colon + 1 + length);
    if (length === 0 || frame.length !== length) return null;
    frames.push(frame);
    cursor = colon + 1 + length;
  }
  return frames.length > 0 ? frames : null;
}

function splitV3Binary(body: Uint8Array): Array<string | Uint8Array> | null {
  const frames: Array<string | Uint8Array> = [];
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let cursor = 0;
  while (cursor < body.length) {
    const kind = body[cursor++];
    if (kind !== 0 && kind !== 1) return null;
    let length = 0;
    let digits = 0;
    while (cursor < body.length && body[cursor] !== 255) {
      const digit = body[cursor++] as number;
      if (digit > 9 || ++digits > 10) return null;
      length = length * 10 + digit;
    }
    cursor++;
    const end = cursor + length;
    if (digits === 0 || length === 0 || end > body.length) return null;
    const bytes = body.subarray(cursor, end);
    cursor = end;
    if (kind === 1) {
      frames.push(bytes);
      continue;
    }
    try {
      frames.push(decoder.decode(bytes));
    } catch {
      return null;
    }
  }
  return frames.length > 0 ? frames : null;
}

function encodeBinaryPayload(packets: Packet[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const packet of packets) {
    const binary = packet.data instanceof Uint8Array;
    const body = binary ? (encodePacket(packet, 3) as Uint8Array) : encoder.encode(encodePacket(packet, 3) as string);
    const digits = [...String(body.byteLength)].map(Number);
    parts.push(Uint8Array.of(binary ? 1 : 0, ...digits, 255), body);
  }
  const total = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.byteLength;
  }
  return total;
}
