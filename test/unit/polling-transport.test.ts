import { describe, expect, it, vi } from "vitest";
import { PollingTransport } from "../../src/engine.io/polling.js";

const message = (data: string) => ({ type: "message" as const, data });

describe("PollingTransport", () => {
  it("answers a poll at once with what is buffered, in order", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    polling.send(message("a"), 0);
    polling.send(message("b"), 0);
    expect(await polling.poll(0)).toEqual([message("a"), message("b")]);
  });

  it("holds an empty poll until a packet arrives", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    const waiting = polling.poll(0);
    polling.send(message("late"), 0);
    expect(await waiting).toEqual([message("late")]);
  });

  it("refuses a second simultaneous poll", () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    void polling.poll(0);
    expect(polling.poll(0)).toBeNull();
  });

  it("answers a waiting poll with noop when the client closes, close when the server does", async () => {
    const byClient = new PollingTransport(Infinity, 0, 0);
    const clientWaiting = byClient.poll(0);
    byClient.close(true);
    expect(await clientWaiting).toEqual([{ type: "noop" }]);
    const byServer = new PollingTransport(Infinity, 0, 0);
    const serverWaiting = byServer.poll(0);
    byServer.close(false);
    expect(await serverWaiting).toEqual([{ type: "close" }]);
    expect(await byServer.poll(0)).toEqual([{ type: "close" }]);
  });

  it("during an upgrade ends the in-flight poll with noop and keeps packets for the WebSocket", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    const inFlight = polling.poll(0);
    polling.probeOpened();
    polling.startUpgrade();
    expect(await inFlight).toEqual([{ type: "noop" }]);
    polling.send(message("held 1"), 0);
    polling.send(message("held 2"), 0);
    expect(await polling.poll(0)).toEqual([{ type: "noop" }]);
    expect(polling.finishUpgrade()).toEqual([message("held 1"), message("held 2")]);
  });

  it("refuses a poll that raced an upgrade which then completed", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    polling.probeOpened();
    const racing = polling.poll(0);
    polling.startUpgrade();
    polling.finishUpgrade();
    expect(await racing).toBeNull();
  });

  it("keeps buffered packets from a poll that arrives once a probe socket is open, for the upgrade to carry", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    polling.send(message("buffered"), 0);
    polling.probeOpened();
    const racing = polling.poll(0);
    polling.startUpgrade();
    expect(polling.finishUpgrade()).toEqual([message("buffered")]);
    expect(await racing).toBeNull();
  });

  it("answers a poll held for an open probe after the grace: buffered packets, or an ordinary wait", async () => {
    vi.useFakeTimers();
    try {
      const polling = new PollingTransport(Infinity, 0, 0);
      polling.send(message("buffered"), 0);
      polling.probeOpened();
      const held = polling.poll(0);
      let answered: unknown = undefined;
      void held?.then((packets) => (answered = packets));
      await vi.advanceTimersByTimeAsync(50);
      expect(answered).toBeUndefined();
      await vi.advanceTimersByTimeAsync(50);
      expect(answered).toEqual([message("buffered")]);

      const waiting = polling.poll(0);
      await vi.advanceTimersByTimeAsync(100);
      polling.send(message("later"), 0);
      expect(await waiting).toEqual([message("later")]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("resumes normal polling when the probe gives up", async () => {
    const polling = new PollingTransport(Infinity, 0, 0);
    polling.probeOpened();
    polling.startUpgrade();
    polling.cancelUpgrade();
    polling.send(message("after"), 0);
    expect(await polling.poll(0)).toEqual([message("after")]);
  });

  it("refuses to keep more than its bound for a client that has taken nothing for the grace", async () => {
    const polling = new PollingTransport(10, 1_000, 0);
    // Over the bound within the grace (a poller sent much at once): kept, and the next GET takes it all.
    expect(polling.send(message("0123456789"), 500)).toBe(true);
    expect(polling.send(message("x"), 1_000)).toBe(true);
    expect(await polling.poll(1_200)).toEqual([message("0123456789"), message("x")]);
    // Within the bound however long nobody polls; past it once the grace is over.
    expect(polling.send(message("0123456789"), 5_000)).toBe(true);
    expect(polling.send(message("x"), 2_201)).toBe(false);
  });

  it("counts a GET during an upgrade, which takes nothing, as no poll", async () => {
    vi.useFakeTimers();
    try {
      const polling = new PollingTransport(10, 1_000, 0);
      polling.probeOpened();
      polling.startUpgrade();
      const noop = polling.poll(900);
      await vi.advanceTimersByTimeAsync(100);
      expect(await noop).toEqual([{ type: "noop" }]);
      expect(polling.send(message("0123456789x"), 1_001)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
