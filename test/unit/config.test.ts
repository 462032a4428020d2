import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { DO_WEBSOCKETS_PER_OBJECT } from "../../src/limits.js";
import { EVENT_RETRIES } from "../../src/queue/consumer.js";

describe("the deployment's vars", () => {
  it("take their defaults when unset, and refuse a malformed one with its name", () => {
    expect(parseConfig({})).toMatchObject({
      maxConnectionsPerApp: 300_000,
      maxConnectionsPerObject: 32_000,
      shardTargetConnections: 5_000,
      messageRetentionDays: 90,
      roomShards: "auto",
    });
    expect(parseConfig({ ROOM_SHARDS: "4" }).roomShards).toBe(4);
    expect(() => parseConfig({ ROOM_SHARDS: "65" })).toThrow(/ROOM_SHARDS/);
    expect(() => parseConfig({ MESSAGE_RETENTION_DAYS: "0" })).toThrow(/MESSAGE_RETENTION_DAYS/);
    expect(() => parseConfig({ MESSAGE_RETENTION_DAYS: "3651" })).toThrow(/MESSAGE_RETENTION_DAYS/);
    expect(() => parseConfig({ PING_INTERVAL_MS: "soon" })).toThrow(/PING_INTERVAL_MS/);
  });

  it("hold MAX_CONNECTIONS_PER_OBJECT to the WebSockets one Durable Object accepts, and an app to what 64 of them hold", () => {
    expect(parseConfig({ MAX_CONNECTIONS_PER_OBJECT: String(DO_WEBSOCKETS_PER_OBJECT) }).maxConnectionsPerObject).toBe(32_768);
    expect(() => parseConfig({ MAX_CONNECTIONS_PER_OBJECT: String(DO_WEBSOCKETS_PER_OBJECT + 1) })).toThrow(/at most 32768, the WebSockets one Durable Object accepts/);
    expect(parseConfig({ MAX_CONNECTIONS_PER_APP: String(64 * DO_WEBSOCKETS_PER_OBJECT) }).maxConnectionsPerApp).toBe(2_097_152);
    expect(() => parseConfig({ MAX_CONNECTIONS_PER_APP: String(64 * DO_WEBSOCKETS_PER_OBJECT + 1) })).toThrow(/MAX_CONNECTIONS_PER_APP/);
  });
});

describe("the events queue", () => {
  it("gives up after the retries the consumer counts as dead-lettered (wrangler.toml's max_retries)", async () => {
    const toml = await readFile(new URL("../../wrangler.toml", import.meta.url), "utf8");
    const consumer = toml.split("[[queues.consumers]]").find((block) => block.trimStart().startsWith('queue = "socketpot-events"'));
    expect(Number(/^max_retries = (\d+)$/m.exec(consumer ?? "")?.[1])).toBe(EVENT_RETRIES);
    expect(consumer).toContain('dead_letter_queue = "socketpot-events-dlq"');
  });
});
