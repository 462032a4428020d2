import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { apisOnFirstUse } from "../../src/http/edge.js";
import { openSocket, token } from "./room-socket.js";

const built = () => Object.entries(apisOnFirstUse).flatMap(([name, api]) => (api.made ? [name] : []));
const asOperator = { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } };

/**
 * What a fresh isolate builds for its first connects: only what they use. The admin API and the backend's event
 * API (their routes, and their OpenAPI and zod schemas) are built on their first request. That no module builds a
 * schema as it loads is test/unit/module-graph.test.ts's to hold; this one holds that serving connects never
 * builds either API, and that each works once its first request builds it.
 */
describe("the cold path", () => {
  it("connects, authenticates and chats without building either API; an admin request builds the admin API alone", async () => {
    expect(built()).toEqual([]);
    const socket = await openSocket();
    expect((await socket.request(1, "auth", { app_id: 1, access_token: token(3), subscriptions: ["CHAT"] }))[0]).toBeNull();
    expect((await socket.request(2, "new_message", { text: "cold", channel: "lobby" }))[0]).toBeNull();
    await socket.close();
    expect(built()).toEqual([]);

    expect((await SELF.fetch("http://edge.test/v1/admin/health", asOperator)).status).toBe(200);
    expect(built()).toEqual(["admin"]);
    // Built on first use, it keeps the edge's answers: a wrong token, an unknown route.
    expect((await SELF.fetch("http://edge.test/v1/admin/apps", { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    const unknown = await SELF.fetch("http://edge.test/v1/admin/nothing-here", asOperator);
    expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 404, body: { error: "NOT_FOUND", message: "no route for GET /v1/admin/nothing-here" } });
    // It serves the OpenAPI document the build generated from its routes, naming this deployment.
    const document = await (await SELF.fetch("http://edge.test/v1/admin/openapi.json", asOperator)).json<{
      servers: Array<{ url: string }>;
      components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
    }>();
    expect(document.servers).toEqual([{ url: "http://edge.test/v1/admin" }]);
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["PublishMessage", "AddSigningKey"]));
    expect(document.components.schemas["AddSigningKey"]!.properties!["jwk"]!.description).toMatch(/^a public JWK with a kid/);

    const ingest = await SELF.fetch("http://edge.test/v1/apps/1/events", { method: "POST", headers: { Authorization: "Bearer wrong" }, body: "[]" });
    expect(ingest.status).toBe(401);
    expect(built()).toEqual(["admin", "ingest"]);
  });
});
