import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { DO_WEBSOCKETS_PER_OBJECT } from "../../src/limits.js";

describe("the deployment's vars", () => {
  it("take their defaults when unset, and refuse a malformed one with its name", () => {
    expect(parseConfig({})).toMatchObject({ maxConnectionsPerApp: 30_000, messageRetentionDays: 90, roomShards: 1 });
    expect(() => parseConfig({ MESSAGE_RETENTION_DAYS: "0" })).toThrow(/MESSAGE_RETENTION_DAYS/);
    expect(() => parseConfig({ MESSAGE_RETENTION_DAYS: "3651" })).toThrow(/MESSAGE_RETENTION_DAYS/);
    expect(() => parseConfig({ PING_INTERVAL_MS: "soon" })).toThrow(/PING_INTERVAL_MS/);
  });

  it("hold MAX_CONNECTIONS_PER_APP to what one Durable Object can hold, since an app on one shard has one", () => {
    expect(parseConfig({ MAX_CONNECTIONS_PER_APP: String(DO_WEBSOCKETS_PER_OBJECT) }).maxConnectionsPerApp).toBe(32_768);
    expect(() => parseConfig({ MAX_CONNECTIONS_PER_APP: String(DO_WEBSOCKETS_PER_OBJECT + 1) })).toThrow(/at most 32768, the WebSockets one Durable Object accepts/);
  });
});
