import { describe, expect, it, vi } from "vitest";

// Counts how often a Socket.IO packet is encoded, to show a broadcast is encoded once, not once per socket.
const encodeCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/socket.io/encode.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/socket.io/encode.js")>();
  return {
    encodePacket: (...args: Parameters<typeof original.encodePacket>) => {
      encodeCalls.count += 1;
      return original.encodePacket(...args);
    },
  };
});

const { EncodedEvent } = await import("../../src/shard/broadcast.js");
const { stubConnection } = await import("../support/connections.js");

const connection = (protocol: 3 | 4, pid?: string) => stubConnection(protocol, pid === undefined ? {} : { pid });

describe("a broadcast", () => {
  it("is encoded once for all its recipients, whatever their Engine.IO revision", () => {
    const recipients = [connection(4), connection(4), connection(3), connection(4)];
    const event = new EncodedEvent("new_message", { text: "hello" });
    encodeCalls.count = 0;
    for (const { connection: each } of recipients) each.deliver(event);
    expect(encodeCalls.count).toBe(1);
    for (const { frames } of recipients) expect(frames).toEqual(['42["new_message",{"text":"hello"}]']);
    expect(event.socketIoFrames(4, false)).toBe(event.socketIoFrames(4, false));
  });

  it("carries its offset to clients that recover sessions, encoded once for all of them", () => {
    const recovering = [connection(4, "p1"), connection(4, "p2")];
    const others = [connection(4), connection(3)];
    const event = new EncodedEvent("new_message", { text: "hello" }, "42");
    encodeCalls.count = 0;
    for (const { connection: each } of [...recovering, ...others]) each.deliver(event);
    expect(encodeCalls.count).toBe(2);
    for (const { frames } of recovering) expect(frames).toEqual(['42["new_message",{"text":"hello"},"42"]']);
    for (const { frames } of others) expect(frames).toEqual(['42["new_message",{"text":"hello"}]']);
  });

  it("sent to one client alone carries the latest broadcast's offset, so the client's offset stays a true one", () => {
    const { frames, connection: recovering } = connection(4, "p1");
    recovering.emit("client_error", "a string the client must not take for an offset");
    expect(frames).toEqual(['42["client_error","a string the client must not take for an offset","41"]']);
  });
});
