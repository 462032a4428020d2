import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OriginRoutes } from "../../src/http/origin-routes.js";
import { appsAllowingOrigin } from "../../src/storage/d1-apps.js";
import { meteredD1 } from "./metered-d1.js";

/** Routing by Origin (clients that name no app) against many apps: D1 bills every row a query reads. */
describe("origin lookups", () => {
  const originsOf = (appId: number) => ["https://a", "https://b"].map((base) => `${base}${appId}.example`);

  async function manyApps(first: number, count: number): Promise<number[]> {
    const ids = Array.from({ length: count }, (_, i) => first + i);
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare("INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (?1, 'Many', ?2, 0)").bind(id, JSON.stringify(originsOf(id))),
      ),
    );
    return ids;
  }

  it("finds an app by an index lookup that reads the rows it returns, not every app's origins", async () => {
    const ids = await manyApps(10_000, 500);
    const { db, reads } = meteredD1(env.DB);
    expect(await appsAllowingOrigin(db, originsOf(ids[321]!)[1]!, 5)).toEqual([ids[321]]);
    expect(await appsAllowingOrigin(db, "https://nobody.example", 5)).toEqual([]);
    // The json_each scan this replaced read all 500 apps (1,000 origins) for either.
    expect(reads).toHaveLength(2);
    for (const read of reads) expect(read).toBeLessThanOrEqual(2);
  });

  it("keeps the index equal to apps.allowed_origins on every write of the apps row, however it is made", async () => {
    const rows = async () =>
      (await env.DB.prepare("SELECT origin, app_id FROM app_origins WHERE app_id IN (7001, 7002) ORDER BY app_id, origin").all()).results;
    await env.DB.prepare("INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (7001, 'One', ?1, 0)").bind('["https://x.example","https://x.example","https://y.example"]').run();
    await env.DB.prepare("INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (7002, 'Two', '[\"https://y.example\"]', 0)").run();
    expect(await rows()).toEqual([
      { origin: "https://x.example", app_id: 7001 },
      { origin: "https://y.example", app_id: 7001 },
      { origin: "https://y.example", app_id: 7002 },
    ]);

    const changed = await SELF.fetch("http://edge.test/v1/admin/apps/7001", {
      method: "PATCH",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ allowed_origins: ["https://z.example"] }),
    });
    expect(changed.status).toBe(200);
    // The API takes an origin once per app, which is how the index holds it.
    const repeated = await SELF.fetch("http://edge.test/v1/admin/apps/7001", {
      method: "PATCH",
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({ allowed_origins: ["https://z.example", "https://z.example"] }),
    });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ message: expect.stringMatching(/each allowed origin is listed once/) });
    // A change of another column leaves the origins as they are.
    await env.DB.prepare("UPDATE apps SET name = 'Renamed' WHERE id = 7002").run();
    expect(await rows()).toEqual([
      { origin: "https://z.example", app_id: 7001 },
      { origin: "https://y.example", app_id: 7002 },
    ]);
    expect(await appsAllowingOrigin(env.DB, "https://y.example", 5)).toEqual([7002]);

    await env.DB.prepare("DELETE FROM apps WHERE id = 7002").run();
    expect(await rows()).toEqual([{ origin: "https://z.example", app_id: 7001 }]);
  });

  it("remembers unknown origins as unknown: a burst of new origins reads D1 once each, and their repeats not at all", async () => {
    await manyApps(20_000, 200);
    const { db, reads } = meteredD1(env.DB);
    const routes = new OriginRoutes();
    const unknown = Array.from({ length: 300 }, (_, i) => `https://unknown${i}.example`);
    for (const round of [1, 2, 3]) {
      const found = await Promise.all(unknown.map((origin) => routes.route(db, origin)));
      expect(found.every((route) => route.kind === "unregistered"), `round ${round}`).toBe(true);
    }
    expect(reads).toHaveLength(unknown.length);
    expect(Math.max(...reads)).toBeLessThanOrEqual(1);
  });
});
