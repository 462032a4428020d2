import { createExecutionContext, env, listDurableObjectIds, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.js";

/** The Worker's env with every D1 statement it prepares counted (each still runs on the real database). */
function countingEnv() {
  const statements: string[] = [];
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "prepare") return (query: string) => (statements.push(query), target.prepare(query));
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, DB: db }, statements };
}

async function send(workerEnv: typeof env, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`http://edge.test${path}`, init), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const objects = async () => [...(await listDurableObjectIds(env.ROOMS)), ...(await listDurableObjectIds(env.SHARDS))].map(String).sort();

describe("unknown apps at the edge", () => {
  it("answers a thousand made-up app ids with 404 from a bounded number of D1 reads, creating no Durable Object", async () => {
    const before = await objects();
    const { env: counted, statements } = countingEnv();
    for (let i = 0; i < 1_000; i++) {
      const appId = 1_000_000 + Math.floor(Math.random() * 1e12);
      const path = i % 2 === 0 ? `/socket.io/?EIO=4&transport=polling&app_id=${appId}` : `/v1/apps/${appId}/ws`;
      const response = await send(counted, path, i % 2 === 0 ? undefined : { headers: { Upgrade: "websocket" } });
      expect(response.status).toBe(404);
      const body = await response.json();
      expect(body).toEqual(i % 2 === 0 ? { code: 3, message: `there is no app with id ${appId}` } : { error: "UNKNOWN_APP", message: `there is no app with id ${appId}` });
    }
    // The highest app id is read again at most once a second; no row is read for an id above it.
    expect(statements.every((query) => query === "SELECT max(id) AS id FROM apps")).toBe(true);
    expect(statements.length).toBeLessThanOrEqual(10);
    expect(await objects()).toEqual(before);
  });

  it("reads an unknown id below the highest once, then answers it from the isolate's cache", async () => {
    await env.DB.prepare("INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (5000, 'Far', '[]', 0)").run();
    // Made behind the edge's back (not through the admin API of this isolate), the app is found once the highest
    // id this isolate knows is a second old.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { env: counted, statements } = countingEnv();
    const paths = Array.from({ length: 50 }, (_, i) => `/socket.io/?EIO=4&transport=polling&app_id=${4_000 + i}`);
    for (const path of paths) expect((await send(counted, path)).status).toBe(404);
    const firstRound = statements.filter((query) => query.startsWith("SELECT * FROM apps")).length;
    expect(firstRound).toBe(50);
    for (const path of paths) expect((await send(counted, path)).status).toBe(404);
    expect(statements.filter((query) => query.startsWith("SELECT * FROM apps")).length).toBe(firstRound);
    // The app that exists is served.
    const known = await send(counted, "/socket.io/?EIO=4&transport=polling&app_id=5000");
    expect(known.status).toBe(200);
  });

  it("refuses an Origin too long to be any app's without looking it up", async () => {
    const { env: counted, statements } = countingEnv();
    const response = await send(counted, "/socket.io/?EIO=4&transport=polling", { headers: { Origin: `https://${"a".repeat(5_000)}.example` } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 3, message: expect.stringMatching(/Origin is longer than 300 characters/) });
    expect(statements).toEqual([]);
  });
});
