import { applyD1Migrations, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { accessTokenDigest, digestOf } from "../../src/credentials.js";
import { D1Credentials } from "../../src/storage/d1-credentials.js";
import { token } from "./room-socket.js";

/** Credentials on the real D1 of workerd: kept as digests, and converted to digests from before. */
describe("credentials in D1", () => {
  it("seeds the four demo users as the digests of their documented tokens", async () => {
    const credentials = new D1Credentials(env.DB);
    for (const [authId, uname] of [[1, "owner"], [2, "mod"], [3, "alice"], [4, "bob"]] as const) {
      expect(await credentials.tokenGrant(1, await accessTokenDigest(token(authId)))).toMatchObject({ user: { auth_id: authId, uname } });
    }
    const { results } = await env.DB.prepare("SELECT * FROM access_tokens WHERE app_id = 1").all();
    expect(JSON.stringify(results)).not.toContain(token(1).slice(9));
  });

  it("turns a token issued before digests into a digest that still authenticates", async () => {
    const db = env.MIGRATION_DB;
    const before = env.TEST_MIGRATIONS.findIndex((migration) => migration.name.startsWith("0003"));
    expect(before).toBeGreaterThan(0);
    await applyD1Migrations(db, env.TEST_MIGRATIONS.slice(0, before));
    const legacy = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    await db.batch([
      db.prepare("INSERT INTO apps (id, name, created_at) VALUES (7, 'Old', 0)"),
      db.prepare("INSERT INTO access_tokens (token, app_id, auth_id, uname, role, created_at) VALUES (?1, 7, 70, 'olduser', 'MOD', 5)").bind(legacy),
      db.prepare("INSERT INTO access_tokens (token, app_id, auth_id, uname, role, created_at, revoked_at) VALUES (?1, 7, 71, 'gone', 'MEMBER', 5, 6)").bind(
        "2b4e28ba-2fa1-41d2-883f-0016d3cca427",
      ),
    ]);
    await applyD1Migrations(db, env.TEST_MIGRATIONS);

    const credentials = new D1Credentials(db);
    expect(await credentials.tokenGrant(7, await accessTokenDigest(legacy.toUpperCase()))).toEqual({
      user: { uname: "olduser", auth_id: 70, role: "MOD" },
      expiresAt: null,
    });
    expect(await credentials.tokenGrant(7, await accessTokenDigest("2b4e28ba-2fa1-41d2-883f-0016d3cca427"))).toBeNull();
    const listed = await credentials.listTokens(7, undefined, 10, 0);
    expect(listed).toEqual([
      expect.objectContaining({ prefix: "1b4e28ba", auth_id: 70, revoked_at: null, created_at: "1970-01-01T00:00:00.005Z" }),
      expect.objectContaining({ prefix: "2b4e28ba", auth_id: 71, revoked_at: "1970-01-01T00:00:00.006Z" }),
    ]);
    const rows = await Promise.all(
      ["access_tokens", "plaintext_tokens"].map(async (table) => (await db.prepare(`SELECT * FROM ${table}`).all()).results),
    );
    expect(rows[1]).toEqual([]);
    expect(JSON.stringify(rows)).not.toMatch(/1b4e28ba-2fa1|2b4e28ba-2fa1/);
  });

  it("gives a key issued before scopes (a row without them) what it could always do: post events", async () => {
    const key = `spk_${"ab".repeat(16)}`;
    await env.DB.prepare("INSERT INTO ingest_keys (digest, prefix, app_id, created_at) VALUES (?1, 'spk_abab', 1, 0)").bind(await digestOf(key)).run();
    expect(await new D1Credentials(env.DB).keyOwner(await digestOf(key))).toMatchObject({ appId: 1, scopes: ["events:write"], revoked: false });
  });

  it("finds an app key by its digest only, with its scopes, and knows a revoked one", async () => {
    const credentials = new D1Credentials(env.DB);
    const issued = await credentials.issueKey(1, ["events:write", "stats:read"], 1_000);
    expect(issued.key).toMatch(/^spk_[0-9a-f]{32}$/);
    const { results } = await env.DB.prepare("SELECT * FROM ingest_keys").all();
    expect(JSON.stringify(results)).not.toContain(issued.key.slice(4));
    expect(await credentials.keyOwner(await digestOf(issued.key))).toEqual({ id: issued.id, appId: 1, scopes: ["events:write", "stats:read"], revoked: false });
    expect(await credentials.revokeKey(2, issued.id, 2_000)).toBe(false);
    expect(await credentials.revokeKey(1, issued.id, 2_000)).toBe(true);
    expect(await credentials.keyOwner(await digestOf(issued.key))).toEqual({ id: issued.id, appId: 1, scopes: ["events:write", "stats:read"], revoked: true });
    expect(await credentials.keyOwner(await digestOf(issued.key.toUpperCase()))).toBeNull();
  });
});
