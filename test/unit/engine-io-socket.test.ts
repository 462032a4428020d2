import { describe, expect, it } from "vitest";
import { CloseCode, EngineSocket, type EngineOptions } from "../../src/engine.io/socket.js";
import type { EngineProtocol, Packet } from "../../src/engine.io/packet.js";

const options: EngineOptions = { pingIntervalMs: 1_000, pingTimeoutMs: 500, maxPayloadBytes: 100 };

function socketOf(protocol: EngineProtocol = 4) {
  const sent: Packet[] = [];
  const closed: Array<[number, string]> = [];
  const socket = new EngineSocket(EngineSocket.initialState("sid1", protocol, 0), {
    send: (frame) => sent.push(frame),
    close: (code, reason) => closed.push([code, reason]),
  }, options);
  return { socket, sent, closed };
}

describe("EngineSocket", () => {
  it("opens with the handshake the client needs", () => {
    const { socket } = socketOf();
    const open = socket.handshake(["websocket"]);
    expect(open.type).toBe("open");
    expect(JSON.parse(String(open.data))).toEqual({
      sid: "sid1",
      upgrades: ["websocket"],
      pingInterval: 1_000,
      pingTimeout: 500,
      maxPayload: 100,
    });
  });

  it("delivers message packets, text and binary", () => {
    const { socket } = socketOf();
    expect(socket.receive("4hi", 0)).toEqual({ kind: "messages", messages: ["hi"] });
    expect(socket.receive(Uint8Array.of(7), 0)).toEqual({ kind: "messages", messages: [Uint8Array.of(7)] });
  });

  it("v4: pings when the interval has passed, and times out when no pong follows", () => {
    const { socket, sent } = socketOf(4);
    expect(socket.heartbeat(999)).toBe(true);
    expect(sent).toEqual([]);
    expect(socket.nextHeartbeatAt()).toBe(1_000);
    expect(socket.heartbeat(1_000)).toBe(true);
    expect(sent).toEqual([{ type: "ping" }]);
    expect(socket.nextHeartbeatAt()).toBe(1_500);
    expect(socket.heartbeat(1_499)).toBe(true);
    expect(socket.heartbeat(1_500)).toBe(false);
  });

  it("v4: counts a ping from when it was due when the clock ran a little late, else from now", () => {
    const slightlyLate = socketOf(4);
    slightlyLate.socket.heartbeat(1_200);
    expect(slightlyLate.socket.nextHeartbeatAt()).toBe(1_500);
    const veryLate = socketOf(4);
    veryLate.socket.heartbeat(1_400);
    expect(veryLate.socket.nextHeartbeatAt()).toBe(1_900);
  });

  it("v4: sends a ping due within the horizon early, counting it from now", () => {
    const { socket, sent } = socketOf(4);
    expect(socket.heartbeat(900, 1_000)).toBe(true);
    expect(sent).toEqual([{ type: "ping" }]);
    expect(socket.nextHeartbeatAt()).toBe(1_400);
  });

  it("v4: a pong clears the outstanding ping", () => {
    const { socket, sent } = socketOf(4);
    socket.heartbeat(1_000);
    socket.receive("3", 1_100);
    expect(socket.heartbeat(1_600)).toBe(true);
    expect(socket.nextHeartbeatAt()).toBe(2_000);
    socket.heartbeat(2_000);
    expect(sent).toEqual([{ type: "ping" }, { type: "ping" }]);
  });

  it("v3: answers client pings and times out a silent client", () => {
    const { socket, sent } = socketOf(3);
    socket.receive("2", 800);
    expect(sent).toEqual([{ type: "pong" }]);
    expect(socket.heartbeat(2_299)).toBe(true);
    expect(socket.heartbeat(2_300)).toBe(false);
  });

  it("v3: counts pings answered elsewhere (the runtime's auto-response)", () => {
    const { socket } = socketOf(3);
    socket.clientPinged(2_000);
    expect(socket.heartbeat(3_400)).toBe(true);
    socket.clientPinged(1_000);
    expect(socket.nextHeartbeatAt()).toBe(3_500);
    const v4 = socketOf(4);
    v4.socket.clientPinged(2_000);
    expect(v4.socket.nextHeartbeatAt()).toBe(1_000);
  });

  it("rejects a heartbeat in the wrong direction", () => {
    const v4 = socketOf(4);
    expect(v4.socket.receive("2", 0)).toEqual({ kind: "rejected", code: CloseCode.PROTOCOL_ERROR, reason: "invalid heartbeat direction" });
    const v3 = socketOf(3);
    expect(v3.socket.receive("3", 0)).toMatchObject({ kind: "rejected" });
  });

  it("rejects with 1009 a frame larger than maxPayload, counting UTF-8 bytes", () => {
    const { socket } = socketOf();
    expect(socket.receive("4" + "a".repeat(99), 0)).toMatchObject({ kind: "messages" });
    expect(socket.receive("4" + "é".repeat(50), 0)).toMatchObject({ kind: "rejected", code: CloseCode.MESSAGE_TOO_BIG });
    expect(socket.receive(new Uint8Array(101), 0)).toMatchObject({ kind: "rejected", code: CloseCode.MESSAGE_TOO_BIG });
  });

  it("rejects undecodable frames and reports a client close packet", () => {
    const bad = socketOf();
    expect(bad.socket.receive("z", 0)).toMatchObject({ kind: "rejected", code: CloseCode.PROTOCOL_ERROR });
    expect(bad.socket.receive("0{}", 0)).toMatchObject({ kind: "rejected", code: CloseCode.PROTOCOL_ERROR });
    expect(bad.closed).toEqual([]);
    const bye = socketOf();
    expect(bye.socket.receive("1", 0)).toEqual({ kind: "closed", reason: "transport close" });
  });
});
