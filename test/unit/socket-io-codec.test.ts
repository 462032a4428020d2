import { describe, expect, it } from "vitest";
import { AttachmentBudget, PacketDecoder } from "../../src/socket.io/decode.js";
import { anyBinary } from "../support/decoder-limits.js";
import { encodePacket } from "../../src/socket.io/encode.js";
import { PacketType, type Packet } from "../../src/socket.io/packet.js";

function decodeAll(payloads: Array<string | Uint8Array>) {
  const decoder = new PacketDecoder(5, anyBinary());
  return payloads.map((payload) => decoder.add(payload));
}

describe("Socket.IO packet codec", () => {
  it.each<[Packet, string]>([
    [{ type: PacketType.CONNECT, nsp: "/" }, "0"],
    [{ type: PacketType.CONNECT, nsp: "/", data: { token: "x" } }, '0{"token":"x"}'],
    [{ type: PacketType.CONNECT, nsp: "/admin", data: { sid: "s" } }, '0/admin,{"sid":"s"}'],
    [{ type: PacketType.DISCONNECT, nsp: "/" }, "1"],
    [{ type: PacketType.DISCONNECT, nsp: "/admin" }, "1/admin,"],
    [{ type: PacketType.EVENT, nsp: "/", data: ["hello", 1] }, '2["hello",1]'],
    [{ type: PacketType.EVENT, nsp: "/", id: 12, data: ["auth", {}] }, '212["auth",{}]'],
    [{ type: PacketType.EVENT, nsp: "/admin", id: 1, data: ["x"] }, '2/admin,1["x"]'],
    [{ type: PacketType.ACK, nsp: "/", id: 12, data: [null, { ok: true }] }, '312[null,{"ok":true}]'],
    [{ type: PacketType.CONNECT_ERROR, nsp: "/", data: { message: "Invalid namespace" } }, '4{"message":"Invalid namespace"}'],
  ])("round-trips %j as %s", (packet, text) => {
    expect(encodePacket(packet)).toEqual([text]);
    expect(decodeAll([text])).toEqual([packet]);
  });

  it("encodes binary data as a BINARY_EVENT with placeholders and attachments", () => {
    const blob = Uint8Array.of(1, 2);
    const encoded = encodePacket({ type: PacketType.EVENT, nsp: "/", data: ["upload", { file: blob }] });
    expect(encoded).toEqual(['51-["upload",{"file":{"_placeholder":true,"num":0}}]', blob]);
    const acked = encodePacket({ type: PacketType.ACK, nsp: "/", id: 3, data: [blob] });
    expect(acked).toEqual(['61-3[{"_placeholder":true,"num":0}]', blob]);
  });

  it("reassembles binary packets from their attachments", () => {
    const a = Uint8Array.of(1);
    const b = Uint8Array.of(2);
    const [header, first, second] = decodeAll([
      '52-/admin,7["up",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]',
      a,
      b,
    ]);
    expect(header).toBeNull();
    expect(first).toBeNull();
    expect(second).toEqual({ type: PacketType.BINARY_EVENT, nsp: "/admin", id: 7, data: ["up", b, [a]] });
  });

  it("drops the query that v4 clients append to a namespace", () => {
    const decoder = new PacketDecoder(4, anyBinary());
    expect(decoder.add("0/admin?token=1")).toEqual({ type: PacketType.CONNECT, nsp: "/admin" });
  });

  it.each([
    ["empty", ""],
    ["unknown type", "7"],
    ["not a digit", "x"],
    ["bad JSON", '2["a",'],
    ["event not an array", '2{"a":1}'],
    ["empty event", "2[]"],
    ["event name an object", "2[{}]"],
    ["reserved event name", '2["disconnect"]'],
    ["connect payload an array", "0[]"],
    ["disconnect with a payload", '1"bye"'],
    ["ack without id", "3[]"],
    ["ack not an array", "31{}"],
    ["binary without count", '5["a"]'],
    ["too many attachments", '5999-["a"]'],
  ])("returns an error value for %s, never throws", (_, text) => {
    expect(decodeAll([text])[0]).toMatchObject({ type: "error" });
  });

  it("rejects attachments that arrive without a header, and text while attachments are due", () => {
    expect(decodeAll([Uint8Array.of(1)])[0]).toMatchObject({ type: "error" });
    const [, text] = decodeAll(['51-["a",{"_placeholder":true,"num":0}]', '2["b"]']);
    expect(text).toMatchObject({ type: "error" });
  });

  it("rejects a placeholder that names a missing attachment", () => {
    const [, packet] = decodeAll(['51-["a",{"_placeholder":true,"num":4}]', Uint8Array.of(1)]);
    expect(packet).toMatchObject({ type: "error" });
  });

  describe("binary limits", () => {
    const header = '53-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]';

    it("refuses a binary packet for a namespace the client has not connected, before holding anything", () => {
      const decoder = new PacketDecoder(5, { ...anyBinary(), acceptsBinary: (nsp) => nsp === "/" });
      expect(decoder.add('51-/admin,["a",{"_placeholder":true,"num":0}]')).toEqual({
        type: "error",
        reason: "binary packet for namespace /admin, which is not connected",
      });
      expect(decoder.add(header)).toBeNull();
    });

    it("refuses attachments that add up to more than the packet limit, and holds nothing after", () => {
      const budget = new AttachmentBudget(Infinity);
      const decoder = new PacketDecoder(5, { maxAttachmentBytes: 10, acceptsBinary: () => true, budget });
      expect(decoder.add(header)).toBeNull();
      expect(decoder.add(new Uint8Array(6))).toBeNull();
      // The budget holds the packet's text and its attachment so far; the packet's own limit counts attachments.
      expect(budget.held).toBe(header.length - "53-".length + 6);
      expect(decoder.add(new Uint8Array(5))).toEqual({ type: "error", reason: "binary attachments of more than 10 bytes in one packet" });
      expect(budget.held).toBe(0);
      // The decoder is clear again: a stray attachment is an error, not part of the refused packet.
      expect(decoder.add(new Uint8Array(1))).toMatchObject({ type: "error", reason: "binary payload received without a binary packet header" });
    });

    it("shares one budget between decoders for unfinished packets' text and attachments, given back when done", async () => {
      const small = '51-["a",{"_placeholder":true,"num":0}]';
      const text = small.length - "51-".length;
      const budget = new AttachmentBudget(2 * text + 10);
      const limits = { maxAttachmentBytes: 100, acceptsBinary: () => true, budget };
      const first = new PacketDecoder(5, limits);
      const second = new PacketDecoder(5, limits);
      const third = new PacketDecoder(5, limits);
      expect(first.add(small)).toBeNull();
      expect(second.add(small)).toBeNull();
      expect(budget.held).toBe(2 * text);
      // A third packet's text does not fit; nor does an attachment past what is left.
      expect(third.add(small)).toMatchObject({ type: "error", reason: expect.stringContaining(`(${2 * text + 10})`) });
      expect(first.add(new Uint8Array(11))).toMatchObject({ type: "error", reason: expect.stringContaining("unfinished binary packets") });
      expect(budget.held).toBe(text);
      expect(second.add(new Uint8Array(10))).toMatchObject({ type: PacketType.BINARY_EVENT, data: ["a", new Uint8Array(10)] });
      expect(budget.held).toBe(0);
      third.add(small);
      third.discard();
      expect(budget.held).toBe(0);
    });

    it("keeps an unfinished packet's JSON as text: a bad payload is found once its attachments are in", () => {
      const decoder = new PacketDecoder(5, anyBinary());
      expect(decoder.add('51-["disconnect",{"_placeholder":true,"num":0}]')).toBeNull();
      expect(decoder.add(Uint8Array.of(1))).toEqual({ type: "error", reason: '"disconnect" is a reserved event name' });
      expect(decoder.add('51-{"not":"json"')).toBeNull();
      expect(decoder.add(Uint8Array.of(1))).toEqual({ type: "error", reason: "packet payload is not valid JSON" });
    });
  });
});
