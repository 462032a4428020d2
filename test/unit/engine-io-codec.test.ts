import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/engine.io/decode.js";
import { encodePacket } from "../../src/engine.io/encode.js";
import type { EngineProtocol, Packet } from "../../src/engine.io/packet.js";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("Engine.IO packet codec", () => {
  it.each<[Packet, string]>([
    [{ type: "open", data: '{"sid":"abc"}' }, '0{"sid":"abc"}'],
    [{ type: "close" }, "1"],
    [{ type: "ping" }, "2"],
    [{ type: "ping", data: "probe" }, "2probe"],
    [{ type: "pong", data: "probe" }, "3probe"],
    [{ type: "message", data: "hello é 🎲" }, "4hello é 🎲"],
    [{ type: "upgrade" }, "5"],
    [{ type: "noop" }, "6"],
  ])("round-trips %j as %s in both revisions", (packet, frame) => {
    for (const protocol of [3, 4] as EngineProtocol[]) {
      expect(encodePacket(packet, protocol)).toBe(frame);
      expect(decodePacket(frame, protocol)).toEqual(packet);
    }
  });

  it("sends binary messages as raw frames in v4 and with a type byte in v3", () => {
    const data = bytes(1, 2, 3);
    expect(encodePacket({ type: "message", data }, 4)).toEqual(bytes(1, 2, 3));
    expect(encodePacket({ type: "message", data }, 3)).toEqual(bytes(4, 1, 2, 3));
    expect(decodePacket(bytes(1, 2, 3), 4)).toEqual({ type: "message", data });
    expect(decodePacket(bytes(4, 1, 2, 3), 3)).toEqual({ type: "message", data });
  });

  it("decodes base64 packets: b<data> in v4, b<type><data> in v3", () => {
    expect(decodePacket("bAQID", 4)).toEqual({ type: "message", data: bytes(1, 2, 3) });
    expect(decodePacket("b4AQID", 3)).toEqual({ type: "message", data: bytes(1, 2, 3) });
  });

  it.each([
    ["", 4],
    ["9", 4],
    ["x", 4],
    ["b!!!", 4],
    ["bAQI", 4],
    ["b9AQID", 3],
  ] as const)("returns an error value for %j (v%d), never throws", (frame, protocol) => {
    expect(decodePacket(frame, protocol)).toMatchObject({ type: "error" });
  });

  it("rejects a v3 binary frame with an unknown type byte", () => {
    expect(decodePacket(bytes(9, 1), 3)).toMatchObject({ type: "error" });
  });
});
