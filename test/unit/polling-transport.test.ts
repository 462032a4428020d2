import { describe, expect, it, vi } from "vitest";
import { PollingTransport } from "../../src/engine.io/polling.js";

const message = (data: string) => ({ type: "message" as const, data });

describe("PollingTransport", () => {
  it("answers a poll at once with what is buffered, in order", async () => {
    const polling = new PollingTransport(Infinity);
    polling.send(message("a"));
    polling.send(message("b"));
    expect(await polling.poll()).toEqual([message("a"), message("b")]);
  });

  it("holds an empty poll until a packet arrives", async () => {
    const polling = new PollingTransport(Infinity);
    const waiting = polling.poll();
    polling.send(message("late"));
    expect(await waiting).toEqual([message("late")]);
  });

  it("refuses a second simultaneous poll", () => {
    const polling = new PollingTransport(Infinity);
    void polling.poll();
    expect(polling.poll()).toBeNull();
  });

  it("answers a waiting poll with noop when the client closes, close when the server does", async () => {
    const byClient = new PollingTransport(Infinity);
    const clientWaiting = byClient.poll();
    byClient.close(true);
    expect(await clientWaiting).toEqual([{ type: "noop" }]);
    const byServer = new PollingTransport(Infinity);
    const serverWaiting = byServer.poll();
    byServer.close(false);
    expect(await serverWaiting).toEqual([{ type: "close" }]);
    expect(await byServer.poll()).toEqual([{ type: "close" }]);
  });

  it("during an upgrade ends the in-flight poll with noop and keeps packets for the WebSocket", async () => {
    const polling = new PollingTransport(Infinity);
    const inFlight = polling.poll();
    polling.probeOpened();
    polling.startUpgrade();
    expect(await inFlight).toEqual([{ type: "noop" }]);
    polling.send(message("held 1"));
    polling.send(message("held 2"));
    expect(await polling.poll()).toEqual([{ type: "noop" }]);
    expect(polling.finishUpgrade()).toEqual([message("held 1"), message("held 2")]);
  });

  it("refuses a poll that raced an upgrade which then completed", async () => {
    const polling = new PollingTransport(Infinity);
    polling.probeOpened();
    const racing = polling.poll();
    polling.startUpgrade();
    polling.finishUpgrade();
    expect(await racing).toBeNull();
  });

  it("keeps buffered packets from a poll that arrives once a probe socket is open, for the upgrade to carry", async () => {
    const polling = new PollingTransport(Infinity);
    polling.send(message("buffered"));
    polling.probeOpened();
    const racing = polling.poll();
    polling.startUpgrade();
    expect(polling.finishUpgrade()).toEqual([message("buffered")]);
    expect(await racing).toBeNull();
  });

  it("answers a poll held for an open probe after the grace: buffered packets, or an ordinary wait", async () => {
    vi.useFakeTimers();
    try {
      const polling = new PollingTransport(Infinity);
      polling.send(message("buffered"));
      polling.probeOpened();
      const held = polling.poll();
      let answered: unknown = undefined;
      void held?.then((packets) => (answered = packets));
      await vi.advanceTimersByTimeAsync(50);
      expect(answered).toBeUndefined();
      await vi.advanceTimersByTimeAsync(50);
      expect(answered).toEqual([message("buffered")]);

      const waiting = polling.poll();
      await vi.advanceTimersByTimeAsync(100);
      polling.send(message("later"));
      expect(await waiting).toEqual([message("later")]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("resumes normal polling when the probe gives up", async () => {
    const polling = new PollingTransport(Infinity);
    polling.probeOpened();
    polling.startUpgrade();
    polling.cancelUpgrade();
    polling.send(message("after"));
    expect(await polling.poll()).toEqual([message("after")]);
  });
});
