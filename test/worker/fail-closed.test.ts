import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.js";

/** The Worker as deployed with `overrides` in place of its bindings and secrets. */
async function send(path: string, init: RequestInit, overrides: Partial<typeof env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`http://edge.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("a deployment missing a secret is closed, not open", () => {
  it("answers the admin API with 503 DISABLED without ADMIN_TOKEN, whatever bearer is sent", async () => {
    for (const bearer of ["", "undefined", "worker-test-admin-token"]) {
      const response = await send("/v1/admin/apps", { headers: { Authorization: `Bearer ${bearer}` } }, { ADMIN_TOKEN: undefined });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: "DISABLED", message: "the ADMIN_TOKEN secret is not set on this deployment" });
    }
  });

  it("takes no platform token at the ingest endpoint without INGEST_TOKEN (401), and enqueues nothing", async () => {
    const sent: unknown[] = [];
    const queue = { send: async (body: unknown) => void sent.push(body), sendBatch: async (batch: unknown[]) => void sent.push(...batch) };
    for (const bearer of ["undefined", "null", "x"]) {
      const response = await send(
        "/v1/apps/1/events",
        {
          method: "POST",
          headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
          body: JSON.stringify({ id: "no-token", type: "unconfirmed_balance_change", auth_id: 3, balance: 1, diff: 1 }),
        },
        { INGEST_TOKEN: undefined, EVENTS: queue as unknown as Queue<unknown> },
      );
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "UNAUTHORIZED", message: "invalid token" });
    }
    expect(sent).toEqual([]);
  });
});

describe("the admin API's health check", () => {
  it("answers 503 when D1 does not answer (a D1 that fails every call: an outage cannot be had locally)", async () => {
    const down = { prepare: () => ({ first: () => Promise.reject(new Error("D1 unavailable")) }) } as unknown as D1Database;
    const response = await send("/v1/admin/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }, { DB: down });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ ok: false, d1: "unavailable" });
  });
});
