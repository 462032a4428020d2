import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminApiBuilt } from "../../src/http/edge.js";
import { openSocket, token } from "./room-socket.js";
import worker from "../../src/index.js";

/**
 * What a new isolate does for its first connects: only what they need. The admin API (its routes and OpenAPI
 * schemas, most of what the modules build) waits for its first request.
 */
describe("the cold path", () => {
  it("connects and authenticates a client without building the admin API, which its first request builds", async () => {
    expect(adminApiBuilt()).toBe(false);
    const socket = await openSocket();
    expect((await socket.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT"] }))[0]).toBeNull();
    await socket.close();
    expect(adminApiBuilt()).toBe(false);

    const health = await worker.fetch!(new Request("http://socketpot.test/v1/admin/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), env, {} as ExecutionContext);
    expect(health.status).toBe(200);
    expect(adminApiBuilt()).toBe(true);
    // Its errors keep their shape: a wrong token, an unknown route.
    const refused = await worker.fetch!(new Request("http://socketpot.test/v1/admin/apps", { headers: { Authorization: "Bearer wrong" } }), env, {} as ExecutionContext);
    expect(refused.status).toBe(401);
    const unknown = await worker.fetch!(new Request("http://socketpot.test/v1/admin/nothing-here", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), env, {} as ExecutionContext);
    expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 404, body: { error: "NOT_FOUND", message: "no route for GET /v1/admin/nothing-here" } });
    // Schemas the connect path made before the admin API loaded are described in its OpenAPI document all the same.
    const document = await (await worker.fetch!(new Request("http://socketpot.test/v1/admin/openapi.json", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }), env, {} as ExecutionContext)).json<{
      components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
    }>();
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["PublishMessage", "AddSigningKey"]));
    expect(document.components.schemas["AddSigningKey"]!.properties!["jwk"]!.description).toMatch(/^a public JWK with a kid/);
  });
});
