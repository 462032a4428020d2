import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOG_BYTES_PER_INVOCATION } from "../../src/limits.js";
import type { Connection } from "../../src/shard/connection.js";
import { CLOSED_LINES_PER_ALARM } from "../../src/shard/engine-room.js";
import { openSocket, appRoom } from "./room-socket.js";

/**
 * Workers Logs keeps 256 KB of one invocation's logs, and local workerd keeps everything: the bytes one alarm
 * logs are measured here, with more connections timing out in it than it logs lines for.
 */
describe("an alarm that ends many connections", () => {
  it("logs a bounded number of lines in full and one summary of the rest, well within an invocation's log bytes", async () => {
    const count = CLOSED_LINES_PER_ALARM + 50;
    // Each from an address of its own: one address may hold at most 100 connections.
    const sockets = await Promise.all(Array.from({ length: count }, (_, i) => openSocket(1, `198.51.100.${i % 250}`)));
    const lines = await runInDurableObject(appRoom(1), async (instance) => {
      for (const connection of (instance as unknown as { connections(): Iterable<Connection> }).connections()) {
        // A ping sent long ago and never answered: every connection is past its ping timeout.
        connection.state.engine.pingSentAt = 1;
      }
      const logged: string[] = [];
      const write = console.log;
      console.log = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
      try {
        await instance.alarm();
      } finally {
        console.log = write;
      }
      return logged;
    });
    const closed = lines.filter((line) => line.includes('"event":"connection_closed"'));
    const summaries = lines.filter((line) => line.includes('"event":"connection_closed_summary"'));
    expect(closed).toHaveLength(CLOSED_LINES_PER_ALARM);
    expect(summaries).toHaveLength(1);
    expect(JSON.parse(summaries[0]!)).toMatchObject({ object: "app:1", logged: CLOSED_LINES_PER_ALARM, not_logged: 50, reasons: { "ping timeout": 50 } });
    const bytes = lines.reduce((sum, line) => sum + new TextEncoder().encode(line).byteLength + 1, 0);
    expect(bytes).toBeLessThan(LOG_BYTES_PER_INVOCATION / 5);
    for (const socket of sockets) socket.ws.close();
  });
});
