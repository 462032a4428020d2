import { SELF, env, listDurableObjectIds } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("HTTP edge", () => {
  it("answers /health after checking D1", async () => {
    const response = await SELF.fetch("http://edge.test/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, d1: "ok" });
  });

  it.each([
    ["missing", "/socket.io/?EIO=4&transport=websocket"],
    ["not a number", "/socket.io/?EIO=4&transport=websocket&app_id=abc"],
    ["zero", "/socket.io/?EIO=4&transport=websocket&app_id=0"],
    ["negative", "/socket.io/?EIO=4&transport=websocket&app_id=-3"],
    ["fractional", "/socket.io/?EIO=4&transport=websocket&app_id=1.5"],
    ["padded", "/socket.io/?EIO=4&transport=websocket&app_id=01"],
  ])("rejects a %s app_id with 400 JSON before any Durable Object exists", async (_, path) => {
    const response = await SELF.fetch(`http://edge.test${path}`, { headers: { Upgrade: "websocket" } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe("INVALID_APP_ID");
    expect(body.message).toMatch(/app_id/);
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

  it("answers 404 JSON for an app that does not exist", async () => {
    const response = await SELF.fetch("http://edge.test/socket.io/?EIO=4&transport=websocket&app_id=999", {
      headers: { Upgrade: "websocket" },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "UNKNOWN_APP" });
  });
});
