import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, next, request } from "../support/clients.js";
import { PlainClient } from "../support/plain-client.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";
import { adminCall } from "../support/http.js";

/**
 * Access tokens an app's own backend signs (JWTs), through a real server and real clients: registered with an
 * app key (not the operator's token), authenticated over socket.io and the plain protocol.
 */
let server: TestServer;
let adminToken: string;
let appId: number;
let appKey: string;

const call = (method: string, path: string, body?: unknown, token = appKey) => adminCall(server.url, token, method, path, body);

/** A signing key of the app's backend: its public JWK (kid included) and a function that signs claims. */
async function backendKey(alg: "ES256" | "EdDSA", kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid };
  const sign = (claims: JWTPayload = {}, header: { kid?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: `app:${appId}`, sub: "501", name: "signed_sam", role: "MOD", iat: now, exp: now + 3600, ...claims })
      .setProtectedHeader({ alg, kid, ...header })
      .sign(privateKey);
  };
  return { jwk, privateJwk: { ...(await exportJWK(privateKey)), kid }, sign };
}

/** The `auth` answer of a new socket.io client presenting `token`. */
async function authWith(token: string) {
  const socket = await connect(server.url, { appId });
  try {
    return await request(socket, "auth", { app_id: appId, access_token: token, subscriptions: ["CHAT"] });
  } finally {
    socket.disconnect();
  }
}

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken });
  appId = (await call("POST", "/apps", { name: "Signed" }, adminToken)).json!["id"];
  appKey = (await call("POST", `/apps/${appId}/keys`, { scopes: ["tokens:write"] }, adminToken)).json!["key"];
});

afterAll(async () => {
  await server?.stop();
});

describe("access tokens the app signs", () => {
  it.each(["ES256", "EdDSA"] as const)("authenticate as their claims over socket.io once the app registered its %s key", async (alg) => {
    const key = await backendKey(alg, `key-${alg}`);
    const registered = await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk });
    expect(registered).toMatchObject({ status: 201, json: { kid: `key-${alg}`, alg } });
    expect(Object.keys(registered.json!["jwk"]).sort()).toEqual(alg === "ES256" ? ["crv", "kid", "kty", "x", "y"] : ["crv", "kid", "kty", "x"]);
    const [error, answer] = await authWith(await key.sign());
    expect(error).toBeNull();
    expect(answer).toMatchObject({ user: { auth_id: 501, uname: "signed_sam", role: "MOD" }, subscriptions: ["CHAT"] });
  });

  it("leave the connection anonymous when any check fails, and still refuse a token of no known shape", async () => {
    const key = await backendKey("ES256", "checks");
    expect((await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk })).status).toBe(201);
    const impostor = await backendKey("ES256", "checks");
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await impostor.sign(),
      await key.sign({}, { kid: "unknown" }),
      await key.sign({ aud: `app:${appId + 1}` }),
      await key.sign({ iat: now - 7200, exp: now - 60 }),
      await key.sign({ nbf: now + 600 }),
      await key.sign({ exp: now + 25 * 3600 }),
      await key.sign({ sub: "sam" }),
      "e30.e30.e30",
    ]) {
      const [error, answer] = await authWith(token);
      expect(error).toBeNull();
      expect(answer).not.toHaveProperty("user");
    }
    const [error] = await authWith("letmein");
    expect(error).toBe("INVALID_AUTH");
  });

  it("authenticate plain-WebSocket clients the same way", async () => {
    const key = await backendKey("EdDSA", "plain");
    expect((await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk })).status).toBe(201);
    const plain = await PlainClient.open(server.url, appId);
    const reply = await plain.request("auth", { app_id: appId, subscriptions: ["CHAT"], access_token: await key.sign() });
    expect(reply).toMatchObject({ a: "ack", p: { result: { user: { auth_id: 501, uname: "signed_sam", role: "MOD" } } } });
    plain.ws.close();
  });

  it("are listed and deleted with the key; a deleted key's tokens no longer authenticate, and its live sessions end, at once", async () => {
    const key = await backendKey("ES256", "short-lived");
    const { json: registered } = await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk });
    const token = await key.sign();
    expect((await authWith(token))[1]).toHaveProperty("user");
    const live = await connect(server.url, { appId });
    expect((await request(live, "auth", { app_id: appId, access_token: token, subscriptions: ["CHAT"] }))[1]).toHaveProperty("user");
    const kept = await backendKey("EdDSA", "kept");
    expect((await call("POST", `/apps/${appId}/signing-keys`, { jwk: kept.jwk })).status).toBe(201);
    const other = await connect(server.url, { appId });
    expect((await request(other, "auth", { app_id: appId, access_token: await kept.sign({ sub: "502", name: "kept_kim" }), subscriptions: ["CHAT"] }))[1]).toHaveProperty("user");
    const told = next<string>(live, "client_error");
    const listed = (await call("GET", `/apps/${appId}/signing-keys`)).json!["signing_keys"] as Array<{ kid: string }>;
    expect(listed.map((listedKey) => listedKey.kid)).toContain("short-lived");
    expect(await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk })).toMatchObject({ status: 409, json: { error: "KID_TAKEN" } });
    expect((await call("DELETE", `/apps/${appId}/signing-keys/${registered!["id"]}`)).status).toBe(204);
    expect(await told).toBe("the key that signed your access token was deleted; authenticate again with a new token");
    expect(await call("DELETE", `/apps/${appId}/signing-keys/${registered!["id"]}`)).toMatchObject({ status: 404, json: { error: "UNKNOWN_SIGNING_KEY" } });
    expect((await authWith(token))[1]).not.toHaveProperty("user");
    // A session whose token another key signed stays, and is served.
    expect((await request(other, "new_message", { text: "still here" }))[0]).toBeNull();
    other.disconnect();
  });

  it("take public keys only, of the two curves, and only from the operator or a key with tokens:write", async () => {
    const key = await backendKey("ES256", "private");
    const refused = await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.privateJwk });
    expect(refused).toMatchObject({ status: 400, json: { error: "INVALID_REQUEST", message: expect.stringContaining("public part only") } });
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    expect((await call("POST", `/apps/${appId}/signing-keys`, { jwk: { ...(await exportJWK(publicKey)), kid: "rsa" } })).status).toBe(400);
    const reader = (await call("POST", `/apps/${appId}/keys`, { scopes: ["stats:read"] }, adminToken)).json!["key"];
    expect(await call("POST", `/apps/${appId}/signing-keys`, { jwk: key.jwk }, reader)).toMatchObject({ status: 403, json: { scope: "tokens:write" } });
    expect((await call("POST", `/apps/${appId}/signing-keys`, { jwk: (await backendKey("EdDSA", "by-operator")).jwk }, adminToken)).status).toBe(201);
  });
});
