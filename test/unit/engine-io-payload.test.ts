import { describe, expect, it } from "vitest";
import { decodePayload, encodePayload } from "../../src/engine.io/payload.js";
import type { Packet } from "../../src/engine.io/packet.js";

const hello: Packet = { type: "message", data: "hello" };
const bytes: Packet = { type: "message", data: Uint8Array.of(1, 2, 3, 4) };

describe("long-polling payloads", () => {
  it("v4: joins packets with the record separator, binary as b<base64>", () => {
    const body = encodePayload([hello, bytes, { type: "ping" }], 4, true);
    expect(body).toBe("4hello\x1ebAQIDBA==\x1e2");
    expect(decodePayload(body, 4)).toEqual([hello, bytes, { type: "ping" }]);
  });

  it("v3: prefixes each packet with its length, binary as b<type><base64> for text-only clients", () => {
    const body = encodePayload([hello, bytes], 3, false);
    expect(body).toBe("6:4hello10:b4AQIDBA==");
    expect(decodePayload(body, 3)).toEqual([hello, bytes]);
  });

  it("v3: counts length in UTF-16 units, as the reference parser does", () => {
    const body = encodePayload([{ type: "message", data: "é🎲" }], 3, false);
    expect(body).toBe("4:4é🎲");
    expect(decodePayload(body, 3)).toEqual([{ type: "message", data: "é🎲" }]);
  });

  it("v3: uses the binary payload format for clients that support it when a packet is binary", () => {
    const body = encodePayload([hello, bytes], 3, true);
    expect(body).toEqual(Uint8Array.of(0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4));
    expect(decodePayload(body, 3)).toEqual([hello, bytes]);
    expect(encodePayload([hello], 3, true)).toBe("6:4hello");
  });

  it("v3: decodes UTF-8 text inside binary payloads", () => {
    const text = new TextEncoder().encode("4héllo");
    const body = Uint8Array.of(0, ...String(text.length).split("").map(Number), 255, ...text);
    expect(decodePayload(body, 3)).toEqual([{ type: "message", data: "héllo" }]);
  });

  it.each<[string, string | Uint8Array, 3 | 4]>([
    ["an empty v4 body", "", 4],
    ["an unknown type in v4", "4ok\x1e9bad", 4],
    ["a v3 length longer than the body", "10:4hello", 3],
    ["a v3 length shorter than the packet", "5:4hello", 3],
    ["a v3 body without lengths", "4hello", 3],
    ["a v3 zero length", "0:", 3],
    ["an empty v3 body", "", 3],
    ["a v3 binary payload with a bad kind byte", Uint8Array.of(7, 1, 255, 52), 3],
    ["a v3 binary payload cut short", Uint8Array.of(0, 9, 255, 52), 3],
    ["a v3 binary payload without a separator", Uint8Array.of(0, 1, 2, 3), 3],
    ["a v3 binary payload with invalid UTF-8", Uint8Array.of(0, 2, 255, 52, 0xff), 3],
  ])("rejects %s with an error value", (_, body, protocol) => {
    expect(decodePayload(body, protocol)).toMatchObject({ type: "error" });
  });
});
