import { describe, expect, it } from "vitest";
import { OrderingCore } from "../../src/ordering/ordering-core.js";
import { ConnectionReporter } from "../../src/shard/connection-reporter.js";
import type { ConnectionReport } from "../../src/socketpot/ordering.js";
import { MemoryHost, MemoryStore, ROOM_OPTIONS } from "../support/memory-room.js";

/**
 * Two connection shards of one app reporting to its real ordering room (the counting part of OrderingCore), with
 * every report recorded. The app takes 40 connections (its headroom is 2) and 2 from one address.
 */
function app(limits = { maxConnections: 40, maxConnectionsPerIp: 2 }) {
  const room = new OrderingCore(1, new MemoryStore(), { ...ROOM_OPTIONS, ...limits }, () => ({ receive: () => {}, snapshot: () => ({ activation: "", sessions: [], pending: [], ips: {} }), end: () => 0 }), null, new MemoryHost());
  const reports: Array<{ shard: number; report: ConnectionReport }> = [];
  const refusedAfter: string[] = [];
  const shard = (number: number, reach = true) =>
    new ConnectionReporter(
      limits,
      async (report) => {
        if (!reach) throw new Error("unreachable");
        reports.push({ shard: number, report: structuredClone(report) });
        return room.countConnections(number, report);
      },
      (id, reason) => refusedAfter.push(`${id}: ${reason}`),
    );
  return { room, reports, refusedAfter, shard };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("ConnectionReporter", () => {
  it("waits for the room's first count, then lets connections in at once and reports them together", async () => {
    const { reports, shard } = app();
    const one = shard(1);
    const first = one.admit("a", "10.0.0.1");
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBeNull();
    expect(one.admit("b", "10.0.0.2")).toBeNull();
    expect(one.admit("c", "10.0.0.3")).toBeNull();
    await turn();
    expect(reports).toEqual([
      { shard: 1, report: { opened: [{ id: "a", ip: "10.0.0.1" }], closed: [] } },
      { shard: 1, report: { opened: [{ id: "b", ip: "10.0.0.2" }, { id: "c", ip: "10.0.0.3" }], closed: [] } },
    ]);
  });

  it("refuses an address its limit on the spot, and lets it in again once one of its connections ends", async () => {
    const { reports, shard } = app();
    const one = shard(1);
    await one.admit("a", "10.0.0.1");
    expect(one.admit("b", "10.0.0.1")).toBeNull();
    expect(await one.admit("c", "10.0.0.1")).toBe("at most 2 connections to one app from one address");
    await turn();
    one.release("a", "10.0.0.1");
    expect(one.admit("d", "10.0.0.1")).toBeNull();
    await turn();
    expect(reports.map(({ report }) => report)).toEqual([
      { opened: [{ id: "a", ip: "10.0.0.1" }], closed: [] },
      { opened: [{ id: "b", ip: "10.0.0.1" }], closed: [] },
      { opened: [{ id: "d", ip: "10.0.0.1" }], closed: ["10.0.0.1"] },
    ]);
  });

  it("counts the connections a shard kept over a wake against their addresses' limit", async () => {
    const reports: ConnectionReport[] = [];
    const count = async (report: ConnectionReport) => (reports.push(structuredClone(report)), { refused: [], total: 2 });
    const woken = new ConnectionReporter({ maxConnections: 40, maxConnectionsPerIp: 2 }, count, () => {}, { "10.0.0.1": 2 });
    expect(await woken.admit("c", "10.0.0.1")).toBe("at most 2 connections to one app from one address");
    woken.release("a", "10.0.0.1");
    expect(await woken.admit("d", "10.0.0.1")).toBeNull();
    expect(reports).toEqual([{ opened: [{ id: "d", ip: "10.0.0.1" }], closed: ["10.0.0.1"] }]);
  });

  it("asks the room again near the app's limit, which refuses what is over it", async () => {
    const { shard } = app({ maxConnections: 4, maxConnectionsPerIp: 10 });
    const one = shard(1);
    expect(await one.admit("a", "10.0.0.1")).toBeNull();
    expect(one.admit("b", "10.0.0.2")).toBeNull();
    await turn();
    expect(one.admit("c", "10.0.0.3")).toBeNull();
    await turn();
    // 3 counted, and a headroom of 1 below the limit of 4: the room decides from here on.
    const fourth = one.admit("d", "10.0.0.4");
    expect(fourth).toBeInstanceOf(Promise);
    expect(await fourth).toBeNull();
    expect(await one.admit("e", "10.0.0.5")).toBe("this app has 4 connections, its limit; try again later");
  });

  it("closes a connection that went ahead when shards raced past the limit, and never reports its close", async () => {
    const { room, reports, refusedAfter, shard } = app({ maxConnections: 40, maxConnectionsPerIp: 40 });
    const one = shard(1);
    await one.admit("a", "10.0.0.1");
    // Another shard fills the app meanwhile.
    await room.countConnections(2, { opened: Array.from({ length: 39 }, (_, index) => ({ id: `x${index}`, ip: `10.1.0.${index}` })), closed: [] });
    expect(one.admit("b", "10.0.0.2")).toBeNull();
    await turn();
    expect(refusedAfter).toEqual(["b: this app has 40 connections, its limit; try again later"]);
    one.release("b", "10.0.0.2");
    await turn();
    expect(reports.at(-1)!.report).toEqual({ opened: [{ id: "b", ip: "10.0.0.2" }], closed: [] });
    // The room now answers every open itself, and is full.
    expect(await one.admit("c", "10.0.0.3")).toBe("this app has 40 connections, its limit; try again later");
  });

  it("reports neither the open nor the close of a connection that ended before its report went", async () => {
    const { reports, shard } = app();
    const one = shard(1);
    await one.admit("a", "10.0.0.1");
    expect(one.admit("b", "10.0.0.2")).toBeNull();
    one.release("b", "10.0.0.2");
    await turn();
    expect(reports).toHaveLength(1);
  });

  it("leaves opens the room has not counted yet out of the counts a snapshot gives it", async () => {
    const { shard } = app();
    const one = shard(1);
    await one.admit("a", "10.0.0.1");
    expect(one.admit("b", "10.0.0.1")).toBeNull();
    expect(one.countedOnly({ "10.0.0.1": 2, "10.0.0.9": 1 })).toEqual({ "10.0.0.1": 1, "10.0.0.9": 1 });
    await turn();
    expect(one.countedOnly({ "10.0.0.1": 2, "10.0.0.9": 1 })).toEqual({ "10.0.0.1": 2, "10.0.0.9": 1 });
  });

  it("fails a waiting connection when the room cannot be reached, after trying again", async () => {
    const { shard } = app();
    const cut = shard(1, false);
    await expect(cut.admit("a", "10.0.0.1")).rejects.toThrow(/did not count/);
    // Its place from the address is free again.
    await expect(cut.admit("b", "10.0.0.1")).rejects.toThrow(/did not count/);
    await expect(cut.admit("c", "10.0.0.1")).rejects.toThrow(/did not count/);
  });
});
