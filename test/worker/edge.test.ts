import { SELF, env, listDurableObjectIds } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("HTTP edge", () => {
  it("answers /health from the Worker alone, and the admin API's health after checking D1", async () => {
    const response = await SELF.fetch("http://edge.test/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const anonymous = await SELF.fetch("http://edge.test/v1/admin/health");
    expect(anonymous.status).toBe(401);
    const deep = await SELF.fetch("http://edge.test/v1/admin/health", { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } });
    expect(deep.status).toBe(200);
    expect(await deep.json()).toEqual({ ok: true, d1: "ok" });
  });

  it.each([
    ["not a number", "/socket.io/?EIO=4&transport=websocket&app_id=abc"],
    ["zero", "/socket.io/?EIO=4&transport=websocket&app_id=0"],
    ["negative", "/socket.io/?EIO=4&transport=websocket&app_id=-3"],
    ["fractional", "/socket.io/?EIO=4&transport=websocket&app_id=1.5"],
    ["padded", "/socket.io/?EIO=4&transport=websocket&app_id=01"],
  ])("rejects a %s app_id with a 400 in Engine.IO's shape before any Durable Object exists", async (_, path) => {
    const response = await SELF.fetch(`http://edge.test${path}`, { headers: { Upgrade: "websocket" } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: number; message: string };
    expect(body).toEqual({ code: 3, message: expect.stringMatching(/^app_id must be a positive integer: add \?app_id=N/) });
    expect(await listDurableObjectIds(env.ROOMS)).toEqual([]);
  });

  it("answers unknown routes with 404 JSON", async () => {
    const response = await SELF.fetch("http://edge.test/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "NOT_FOUND" });
  });

  it("answers Engine.IO errors in Engine.IO's JSON form", async () => {
    const transport = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=carrier-pigeon&app_id=1");
    expect(transport.status).toBe(400);
    expect(await transport.json()).toEqual({ code: 0, message: "Transport unknown" });
    const version = await SELF.fetch("http://edge.test/socket.io/?EIO=9&transport=websocket&app_id=1", {
      headers: { Upgrade: "websocket" },
    });
    expect(version.status).toBe(400);
    expect(await version.json()).toEqual({ code: 5, message: "Unsupported protocol version" });
  });

  it("answers a 404 in Engine.IO's shape for an app that does not exist", async () => {
    const response = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=websocket&app_id=999", {
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: 3, message: "there is no app with id 999" });
  });

  it("answers other paths under /socket.io in Engine.IO's shape, the rest in the product's", async () => {
    const socketIo = await SELF.fetch("http://edge.test/socket.io?EIO=4&transport=polling&app_id=1");
    expect(socketIo.status).toBe(404);
    expect(await socketIo.json()).toEqual({ code: 3, message: expect.stringMatching(/the socket.io path is \/socket.io\//) });
    const api = await SELF.fetch("http://edge.test/v1/nope");
    expect(await api.json()).toMatchObject({ error: "NOT_FOUND" });
  });

  it("routes a request without app_id by its Origin, from the isolate's cache once the origin was looked up", async () => {
    // Created through the admin API, the app is reachable from this isolate at once.
    const created = await SELF.fetch("http://edge.test/v1/admin/apps", {
      method: "POST",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Cached", allowed_origins: ["https://cached.example"] }),
    });
    const { id } = (await created.json()) as { id: number };
    const handshake = () => SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=polling", { headers: { Origin: "https://cached.example" } });
    const first = await handshake();
    expect(first.status).toBe(200);
    expect((await first.text()).startsWith("0{")).toBe(true);
    expect((await listDurableObjectIds(env.ROOMS)).map((id) => id.toString())).toContain(env.ROOMS.idFromName(`app:${id}`).toString());

    // The row changes behind the cache's back: the next request is routed as before, without reading it.
    await env.DB.prepare("UPDATE apps SET allowed_origins = '[]' WHERE id = ?1").bind(id).run();
    expect((await handshake()).status).toBe(200);
    const unknown = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=polling", { headers: { Origin: "https://elsewhere.example" } });
    expect(unknown.status).toBe(400);
  });
});
