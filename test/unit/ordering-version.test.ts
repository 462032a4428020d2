import { describe, expect, it } from "vitest";
import { linkOf, ORDERING_VERSION, orderingOf, servedOrderingVersion, type AppOrdering, type ShardEndpoint } from "../../src/socketpot/ordering.js";

describe("the ordering version", () => {
  it("goes with every call a shard makes to its room, and every call the room makes to a shard", async () => {
    const calls: unknown[][] = [];
    const record = (name: string) => async (...args: unknown[]) => {
      calls.push([name, ...args]);
      return null as never;
    };
    const room: AppOrdering = { countConnections: record("count"), request: record("request"), recover: record("recover"), leave: record("leave") };
    const ordering = orderingOf(room, 7);
    const client = { id: "c", shard: 1, session: null, recovery: null };
    await ordering.countConnections(1, { opened: [], closed: [] });
    await ordering.request(client, "auth", {});
    await ordering.recover(client, "pid", null);
    await ordering.leave(client, "transport close");
    const shard: ShardEndpoint = {
      receive: record("receive") as ShardEndpoint["receive"],
      snapshot: record("snapshot") as ShardEndpoint["snapshot"],
      endSessions: record("end") as ShardEndpoint["endSessions"],
    };
    const link = linkOf(shard);
    await link.receive([]);
    await link.snapshot();
    await link.end(["c"], "kicked");
    expect(calls.map((call) => [call[0], call.at(-1)])).toEqual(
      ["count", "request", "recover", "leave", "receive", "snapshot", "end"].map((name) => [name, ORDERING_VERSION]),
    );
  });

  it("is served when absent (code from before versions) or this code's own, and refused otherwise", () => {
    expect(() => servedOrderingVersion(undefined, "request")).not.toThrow();
    expect(() => servedOrderingVersion(ORDERING_VERSION, "request")).not.toThrow();
    expect(() => servedOrderingVersion(ORDERING_VERSION + 1, "request")).toThrow(`request: ordering version ${ORDERING_VERSION + 1} is not served by this object, which serves 1, 2`);
    expect(() => servedOrderingVersion(0, "leave")).toThrow(/leave: ordering version 0/);
  });
});
