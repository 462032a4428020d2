import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { looksSigned } from "../../src/credentials.js";
import {
  MAX_SIGNED_TOKEN_LIFETIME_S,
  PublicSigningJwk,
  verifySignedToken,
  verifyingKey,
  type SigningAlgorithm,
  type VerifyingKey,
} from "../../src/signed-tokens.js";

const APP = 7;
const NOW = Date.parse("2026-12-01T12:00:00Z");
const seconds = (ms: number) => Math.floor(ms / 1000);

async function signer(alg: SigningAlgorithm, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid };
  const privateJwk = { ...(await exportJWK(privateKey)), kid };
  const sign = (claims: JWTPayload, header: { alg?: string; kid?: string; typ?: string } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid, ...header }).sign(privateKey);
  // Signed with Web Crypto directly: jose will not sign a header it would not accept (crit, say).
  const signAsIs = async (claims: JWTPayload, header: Record<string, unknown>) => {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const signed = `${part({ alg, kid, ...header })}.${part(claims)}`;
    const algorithm = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
    const signature = await crypto.subtle.sign(algorithm, privateKey as CryptoKey, new TextEncoder().encode(signed));
    return `${signed}.${Buffer.from(signature).toString("base64url")}`;
  };
  return { jwk, privateJwk, sign, signAsIs };
}

const good = (overrides: JWTPayload = {}): JWTPayload => ({
  aud: `app:${APP}`,
  sub: "42",
  name: "kate",
  role: "MOD",
  iat: seconds(NOW) - 60,
  exp: seconds(NOW) + 3600,
  ...overrides,
});

async function keyring(...jwks: unknown[]) {
  const keys = new Map<string, VerifyingKey>();
  for (const jwk of jwks) {
    const parsed = PublicSigningJwk.parse(jwk);
    keys.set(parsed.kid, await verifyingKey(parsed));
  }
  return async (kid: string) => keys.get(kid) ?? null;
}

describe("signed access tokens", () => {
  it.each(["ES256", "EdDSA"] as const)("grants a %s token its claims: auth_id from sub, uname from name, role, until exp", async (alg) => {
    const { jwk, sign } = await signer(alg, `key-${alg}`);
    const token = await sign(good());
    expect(looksSigned(token)).toBe(true);
    expect(await verifySignedToken(token, APP, await keyring(jwk), NOW)).toEqual({
      user: { auth_id: 42, uname: "kate", role: "MOD" },
      expiresAt: (seconds(NOW) + 3600) * 1000,
      kid: `key-${alg}`,
    });
    const member = await sign(good({ role: undefined }));
    expect((await verifySignedToken(member, APP, await keyring(jwk), NOW))?.user.role).toBe("MEMBER");
  });

  it("refuses a token that fails any check, each on its own", async () => {
    const es = await signer("ES256", "es");
    const ed = await signer("EdDSA", "ed");
    const impostor = await signer("ES256", "es");
    const keys = await keyring(es.jwk, ed.jwk);
    const refused: Array<[string, Promise<string>]> = [
      ["another key's signature under a known kid", impostor.sign(good())],
      ["an unknown kid", es.sign(good(), { kid: "nobody" })],
      ["no kid", new SignJWT(good()).setProtectedHeader({ alg: "ES256" }).sign((await generateKeyPair("ES256")).privateKey)],
      ["another app's audience", es.sign(good({ aud: `app:${APP + 1}` }))],
      ["no audience", es.sign(good({ aud: undefined }))],
      ["expired", es.sign(good({ iat: seconds(NOW) - 7200, exp: seconds(NOW) - 10 }))],
      ["not yet valid (nbf)", es.sign(good({ nbf: seconds(NOW) + 600 }))],
      ["valid for more than a day", es.sign(good({ iat: seconds(NOW), exp: seconds(NOW) + MAX_SIGNED_TOKEN_LIFETIME_S + 1 }))],
      ["issued a year ahead, to last a day from then", es.sign(good({ iat: seconds(NOW) + 365 * 86_400, exp: seconds(NOW) + 365 * 86_400 + 3600 }))],
      ["without exp", es.sign(good({ exp: undefined }))],
      ["without iat", es.sign(good({ iat: undefined }))],
      ["a sub that is not an auth_id", es.sign(good({ sub: "kate" }))],
      ["a zero auth_id", es.sign(good({ sub: "0" }))],
      ["a name that is not a uname", es.sign(good({ name: "kate smith" }))],
      ["no name", es.sign(good({ name: undefined }))],
      ["a role the protocol lacks", es.sign(good({ role: "ADMIN" }))],
      ["an EdDSA token naming an ES256 key", ed.sign(good(), { kid: "es" })],
      ["a typ other than JWT", es.sign(good(), { typ: "at+jwt" })],
      ["a crit header (an extension it does not understand)", es.signAsIs(good(), { crit: ["b64"], b64: false })],
      ["an unsigned token (alg none)", Promise.resolve(`${btoa(JSON.stringify({ alg: "none", kid: "es" })).replace(/=+$/, "")}.${btoa(JSON.stringify(good())).replace(/=+$/, "")}.x`)],
      ["three parts of garbage", Promise.resolve("abc.def.ghi")],
    ];
    for (const [why, token] of refused) {
      expect({ why, grant: await verifySignedToken(await token, APP, keys, NOW) }).toEqual({ why, grant: null });
    }
    // The same key, a good token: granted (the refusals above are each for its own reason).
    expect(await verifySignedToken(await es.sign(good()), APP, keys, NOW)).not.toBeNull();
    expect(await verifySignedToken(await es.sign(good(), { typ: "JWT" }), APP, keys, NOW)).not.toBeNull();
    expect(await verifySignedToken(await es.signAsIs(good(), {}), APP, keys, NOW)).not.toBeNull();
  });

  it("leaves a failure to look the key up to the caller: storage that fails is not a bad token", async () => {
    const es = await signer("ES256", "es");
    const unavailable = async (): Promise<VerifyingKey | null> => {
      throw new Error("storage unavailable");
    };
    await expect(verifySignedToken(await es.sign(good()), APP, unavailable, NOW)).rejects.toThrow("storage unavailable");
  });

  it("allows the backend's clock a minute ahead for iat, and honours an nbf that has passed (on the real clock, which the verifier's own checks would read)", async () => {
    const es = await signer("ES256", "es");
    const keys = await keyring(es.jwk);
    const now = Date.now();
    const at = (claims: JWTPayload) => good({ iat: seconds(now) - 60, exp: seconds(now) + 3600, ...claims });
    const granted = [at({ iat: seconds(now) + 59 }), at({ nbf: seconds(now) }), at({ exp: seconds(now) + 1 })];
    for (const claims of granted) expect({ claims, granted: (await verifySignedToken(await es.sign(claims), APP, keys, now)) !== null }).toEqual({ claims, granted: true });
    const refused = [at({ iat: seconds(now) + 61 }), at({ nbf: seconds(now) + 1 }), at({ exp: seconds(now) })];
    for (const claims of refused) expect({ claims, granted: (await verifySignedToken(await es.sign(claims), APP, keys, now)) !== null }).toEqual({ claims, granted: false });
  });

  it("takes only public JWKs of the two curves, with a kid", async () => {
    const es = await signer("ES256", "es");
    const ed = await signer("EdDSA", "ed");
    expect(PublicSigningJwk.safeParse(es.jwk).success).toBe(true);
    expect(PublicSigningJwk.safeParse(ed.jwk).success).toBe(true);
    for (const withPrivate of [es.privateJwk, ed.privateJwk]) {
      const parsed = PublicSigningJwk.safeParse(withPrivate);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/public part only/);
    }
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    for (const other of [{ ...(await exportJWK(publicKey)), kid: "rsa" }, { ...es.jwk, kid: undefined }, { ...es.jwk, crv: "P-384" }, "not a key"]) {
      expect(PublicSigningJwk.safeParse(other).success).toBe(false);
    }
  });

  it("tells a signed token from a UUID by its shape", () => {
    expect(looksSigned("00000000-0000-4000-8000-000000000001")).toBe(false);
    expect(looksSigned("a.b.c")).toBe(true);
    expect(looksSigned(`a.b.${"c".repeat(5_000)}`)).toBe(false);
  });
});
