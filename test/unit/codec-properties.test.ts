import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/engine.io/decode.js";
import { encodePacket } from "../../src/engine.io/encode.js";
import type { EngineProtocol, Packet, PacketType } from "../../src/engine.io/packet.js";
import { decodePayload, encodePayload } from "../../src/engine.io/payload.js";
import { PacketDecoder } from "../../src/socket.io/decode.js";
import { anyBinary } from "../support/decoder-limits.js";
import { encodePacket as encodeSocketPacket } from "../../src/socket.io/encode.js";
import { PacketType as SocketPacketType, type Packet as SocketPacket } from "../../src/socket.io/packet.js";

/** Property tests: every codec round-trips what it encodes, and decodes arbitrary input without throwing. */

const protocol = fc.constantFrom<EngineProtocol>(3, 4);
const bytes = fc.uint8Array({ minLength: 1, maxLength: 64 });
const textPacket: fc.Arbitrary<Packet> = fc.record({
  type: fc.constantFrom<PacketType>("open", "close", "ping", "pong", "message", "upgrade", "noop"),
  data: fc.option(fc.string({ minLength: 1, unit: "grapheme" }), { nil: undefined }),
}).map(({ type, data }) => (data === undefined ? { type } : { type, data }));
const binaryMessage: fc.Arbitrary<Packet> = bytes.map((data) => ({ type: "message", data }));
const enginePacket = fc.oneof(textPacket, binaryMessage);

describe("Engine.IO codec properties", () => {
  it("round-trips every packet over WebSocket frames, in both revisions", () => {
    fc.assert(
      fc.property(enginePacket, protocol, (packet, version) => {
        expect(decodePacket(encodePacket(packet, version), version)).toEqual(packet);
      }),
    );
  });

  it("round-trips every list of packets as a polling payload, text and binary encodings alike", () => {
    fc.assert(
      fc.property(fc.array(enginePacket, { minLength: 1, maxLength: 8 }), protocol, fc.boolean(), (packets, version, supportsBinary) => {
        expect(decodePayload(encodePayload(packets, version, supportsBinary), version)).toEqual(packets);
      }),
    );
  });

  it("decodes arbitrary strings and bytes to a packet or an error value, never throwing", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.uint8Array()), protocol, (input, version) => {
        const packet = decodePacket(input, version);
        expect(typeof packet.type).toBe("string");
        const payload = decodePayload(input, version);
        expect(Array.isArray(payload) || payload.type === "error").toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

const json = fc.jsonValue({ maxDepth: 3 });
const nsp = fc.constantFrom("/", "/custom", "/a-b");
const eventName = fc.string({ minLength: 1 }).filter((name) => !["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"].includes(name));
const socketPacket: fc.Arbitrary<SocketPacket> = fc.oneof(
  fc.record({ type: fc.constant(SocketPacketType.CONNECT), nsp, data: fc.option(fc.dictionary(fc.string(), json), { nil: undefined }) }),
  fc.record({ type: fc.constant(SocketPacketType.DISCONNECT), nsp }),
  fc.record({
    type: fc.constant(SocketPacketType.EVENT),
    nsp,
    id: fc.option(fc.nat(), { nil: undefined }),
    data: fc.tuple(eventName, fc.array(fc.oneof(json, bytes), { maxLength: 3 })).map(([name, args]) => [name, ...args]),
  }),
  fc.record({ type: fc.constant(SocketPacketType.ACK), nsp, id: fc.nat(), data: fc.array(fc.oneof(json, bytes), { maxLength: 3 }) }),
  fc.record({ type: fc.constant(SocketPacketType.CONNECT_ERROR), nsp, data: fc.record({ message: fc.string() }) }),
).map((packet) => Object.fromEntries(Object.entries(packet).filter(([, value]) => value !== undefined)) as SocketPacket);

/** What decoding gives back: binary packets come back as their BINARY_ types; JSON drops -0's sign. */
function expected(packet: SocketPacket): SocketPacket {
  const hasBinary = containsBytes(packet.data);
  const type =
    hasBinary && packet.type === SocketPacketType.EVENT ? SocketPacketType.BINARY_EVENT : hasBinary && packet.type === SocketPacketType.ACK ? SocketPacketType.BINARY_ACK : packet.type;
  return { ...packet, type, ...(packet.data === undefined ? {} : { data: normalise(packet.data) }) };
}

function containsBytes(value: unknown): boolean {
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) return value.some(containsBytes);
  return typeof value === "object" && value !== null && Object.values(value).some(containsBytes);
}

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return value;
  return JSON.parse(JSON.stringify(value, (_, inner) => (inner instanceof Uint8Array ? { __bytes: [...inner] } : inner)), (_, inner) =>
    inner && typeof inner === "object" && "__bytes" in inner ? Uint8Array.from(inner.__bytes) : inner,
  );
}

describe("Socket.IO codec properties", () => {
  it("round-trips every packet, binary attachments included", () => {
    fc.assert(
      fc.property(socketPacket, (packet) => {
        const decoder = new PacketDecoder(5, anyBinary());
        const parts = encodeSocketPacket(packet);
        const results = parts.map((part) => decoder.add(part));
        expect(results.slice(0, -1).every((result) => result === null)).toBe(true);
        expect(results.at(-1)).toEqual(expected(packet));
      }),
    );
  });

  it("decodes arbitrary input to a packet, null (attachments due) or an error value, never throwing", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.uint8Array()), { minLength: 1, maxLength: 5 }), fc.constantFrom<4 | 5>(4, 5), (inputs, version) => {
        const decoder = new PacketDecoder(version, anyBinary());
        for (const input of inputs) {
          const result = decoder.add(input);
          expect(result === null || typeof result.type === "number" || result.type === "error").toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
