import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { D1Admin } from "../../src/storage/d1-admin.js";
import { meteredD1 } from "./metered-d1.js";

/** What the admin API's listings read of D1, which bills every row a query reads (and allows 30 s a query). */
describe("the admin API's message listing", () => {
  it("reads a page of one channel's messages from its index, not the app's whole history", async () => {
    const statements = Array.from({ length: 2_000 }, (_, i) =>
      env.DB.prepare("INSERT INTO messages (app_id, channel, text, created_at) VALUES (1, ?1, 'm', 0)").bind(i % 100 === 0 ? "rare" : "busy"),
    );
    await env.DB.batch(statements);
    const { db, reads: read } = meteredD1(env.DB);
    const messages = await new D1Admin(db, { shards: 1, retentionDays: 90 }).listMessages(1, "rare", 10, Number.MAX_SAFE_INTEGER);
    expect(messages).toHaveLength(10);
    expect(messages.every((message) => message.channel === "rare")).toBe(true);
    expect(read).toHaveLength(1);
    expect(read[0]).toBeLessThanOrEqual(20);
  });
});
