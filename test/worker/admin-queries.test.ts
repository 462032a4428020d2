import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { D1Admin } from "../../src/storage/d1-admin.js";

/** What the admin API's listings read of D1, which bills every row a query reads (and allows 30 s a query). */
describe("the admin API's message listing", () => {
  it("reads a page of one channel's messages from its index, not the app's whole history", async () => {
    const statements = Array.from({ length: 2_000 }, (_, i) =>
      env.DB.prepare("INSERT INTO messages (app_id, channel, text, created_at) VALUES (1, ?1, 'm', 0)").bind(i % 100 === 0 ? "rare" : "busy"),
    );
    await env.DB.batch(statements);
    // The real database, with the rows each query read recorded (D1 reports them in `meta`).
    const read: number[] = [];
    const db = {
      prepare: (query: string) => ({
        bind: (...values: unknown[]) => ({
          all: async () => {
            const result = await env.DB.prepare(query).bind(...values).all();
            read.push(result.meta.rows_read);
            return result;
          },
        }),
      }),
    } as unknown as D1Database;
    const messages = await new D1Admin(db, 1).listMessages(1, "rare", 10, Number.MAX_SAFE_INTEGER);
    expect(messages).toHaveLength(10);
    expect(messages.every((message) => message.channel === "rare")).toBe(true);
    expect(read).toHaveLength(1);
    expect(read[0]).toBeLessThanOrEqual(20);
  });
});
