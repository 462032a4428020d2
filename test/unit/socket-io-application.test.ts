import { describe, expect, it } from "vitest";
import { SocketIoApplication } from "../../src/shard/socket-io-application.js";
import type { Connection } from "../../src/shard/connection.js";
import type { Admission, Namespace } from "../../src/socket.io/namespace.js";
import { stubConnection } from "../support/connections.js";

/** A namespace whose admissions the test answers when it chooses, recording what happened to each. */
function slowNamespace() {
  const calls: string[] = [];
  let admit: (admission: Admission) => void = () => {};
  const namespace: Namespace<Connection> = {
    connect: () => new Promise<Admission>((resolve) => (admit = resolve)),
    event: async () => {},
    disconnected: () => void calls.push("disconnected"),
  };
  const admission: Admission = { sid: "s1", pid: "p1", welcome: () => void calls.push("welcome"), abandon: () => void calls.push("abandon") };
  return { namespace, calls, admit: () => admit(admission) };
}

describe("SocketIoApplication", () => {
  it("gives an admission back when the connection ended before it could be told it is connected", async () => {
    const { namespace, calls, admit } = slowNamespace();
    const application = new SocketIoApplication({ "/": namespace }, 30_000);
    const { connection, frames } = stubConnection(4, { namespaces: {} });
    const connecting = application.message(connection, "0");
    connection.end(1000, "transport close", true);
    admit();
    await connecting;
    expect(calls).toEqual(["abandon"]);
    expect(frames).toEqual([]);
  });

  it("closes a connection that connects a namespace more than 10 times (1008, with the reason)", async () => {
    const namespace: Namespace<Connection> = { connect: () => ({ sid: "s", welcome() {} }), event: async () => {}, disconnected() {} };
    const application = new SocketIoApplication({ "/": namespace }, 30_000);
    const closes: Array<{ code: number; reason: string }> = [];
    const { connection } = stubConnection(4, { namespaces: {} });
    (connection.transport as { ws: { close(code: number, reason: string): void } }).ws.close = (code, reason) => void closes.push({ code, reason });
    for (let round = 0; round < 10; round++) {
      await application.message(connection, "0");
      await application.message(connection, "1");
    }
    expect(connection.open).toBe(true);
    await application.message(connection, "0");
    expect(connection.open).toBe(false);
    expect(closes).toEqual([{ code: 1008, reason: "more than 10 namespace connects on one connection" }]);
  });
});
