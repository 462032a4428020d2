import { decodeHeader, verify } from "hono/utils/jwt/jwt";
import * as z from "zod";
import { builtOnFirstUse } from "./deferred.js";
import { Role, UNAME_PATTERN, type User } from "./socketpot/schemas.js";

/**
 * Access tokens an app's own backend signs for its users (JWTs), beside the UUID tokens the admin API issues.
 * The app registers public keys (ES256 on P-256, or EdDSA on Ed25519); a token names its key by `kid`, is for
 * `app:<id>` (`aud`), and says who the user is: `sub` (auth_id, in decimal), `name` (uname), `role`. It lasts
 * at most a day (`exp` within 24 hours of `iat`), and `nbf` is honoured. Hono's JWT utilities decode the token
 * and check its header, audience and signature (with Web Crypto); the claims are zod's to check, times against
 * the caller's clock. Nothing here parses a token by hand.
 */

/** The longest a signed token may be valid for, from its `iat`. */
export const MAX_SIGNED_TOKEN_LIFETIME_S = 24 * 60 * 60;

/** How far ahead of the server's the backend's clock may be for a token's `iat`. */
const CLOCK_SKEW_S = 60;

export const SIGNING_ALGORITHMS = ["ES256", "EdDSA"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

const Kid = builtOnFirstUse(() => z.string().min(1, "the JWK needs a kid").max(128, "kid is at most 128 characters"));
const Base64Url = builtOnFirstUse(() => z.string().regex(/^[A-Za-z0-9_-]+$/, "key coordinates are base64url"));
const NO_PRIVATE_PART = "a signing key is registered by its public part only: this JWK holds the private key (d); send the public JWK";

/** A public JWK an app registers: P-256 for ES256, or Ed25519 for EdDSA; never one with its private part. */
export const PublicSigningJwk = builtOnFirstUse(() => z
  .looseObject({ d: z.undefined({ error: NO_PRIVATE_PART }).optional() }, { error: "the key must be a JWK object" })
  .pipe(
    z.union(
      [
        z.looseObject({ kty: z.literal("EC"), crv: z.literal("P-256"), x: Base64Url, y: Base64Url, kid: Kid, alg: z.literal("ES256").optional() }),
        z.looseObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: Base64Url, kid: Kid, alg: z.enum(["EdDSA", "Ed25519"]).optional() }),
      ],
      { error: 'the key must be a public JWK with a kid: {"kty":"EC","crv":"P-256",x,y} (ES256) or {"kty":"OKP","crv":"Ed25519",x} (EdDSA)' },
    ),
  ));
export type PublicSigningJwk = z.infer<typeof PublicSigningJwk>;

export function algorithmOf(jwk: PublicSigningJwk): SigningAlgorithm {
  return jwk.kty === "EC" ? "ES256" : "EdDSA";
}

/** A registered key, ready to verify with. */
export interface VerifyingKey {
  alg: SigningAlgorithm;
  key: CryptoKey;
}

/** The members of a JWK that make the public key and name it: what is kept and shown of a registered key. */
export function publicJwk(jwk: PublicSigningJwk): JsonWebKey & Record<string, string> {
  const { kty, crv, x, kid } = jwk;
  return jwk.kty === "EC" ? { kty, crv, x, y: jwk.y, kid } : { kty, crv, x, kid };
}

/** Web Crypto's name for each algorithm's keys. */
const KEY_ALGORITHMS: Record<SigningAlgorithm, SubtleCryptoImportKeyAlgorithm> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
};

/** Imports a registered public key for verification (Web Crypto checks it is a usable key of its curve). */
export async function verifyingKey(jwk: PublicSigningJwk): Promise<VerifyingKey> {
  const alg = algorithmOf(jwk);
  return { alg, key: await crypto.subtle.importKey("jwk", publicJwk(jwk), KEY_ALGORITHMS[alg], false, ["verify"]) };
}

/**
 * What a token's header must say: one of the two algorithms, and the key by its kid. No `crit`: no extension
 * (such as an unencoded payload, `b64`) is understood here.
 */
const SignedHeader = builtOnFirstUse(() => z.object({ alg: z.enum(SIGNING_ALGORITHMS), kid: z.string().min(1), crit: z.undefined().optional() }));

const Claims = builtOnFirstUse(() => z.object({
  sub: z.string().regex(/^[1-9][0-9]{0,15}$/, "sub is the user's auth_id in decimal").transform(Number).pipe(z.number().int().max(Number.MAX_SAFE_INTEGER)),
  name: z.string().regex(UNAME_PATTERN, "name is the user's uname"),
  role: Role.default("MEMBER"),
  iat: z.number(),
  exp: z.number(),
  nbf: z.number().optional(),
}));

/** What a verified token grants: its user, until when (epoch ms), and the key that signed it. */
export interface SignedGrant {
  user: User;
  expiresAt: number;
  kid: string;
}

/**
 * The grant of a signed token for app `appId`, or null when any check fails: the key (`kid`, found by `keyOf`,
 * of the header's alg), the signature, `aud`, `exp`, `nbf`, the lifetime, the claims. `keyOf` may load keys it
 * does not have yet; its errors (storage) are the caller's, not a refusal.
 */
export async function verifySignedToken(
  token: string,
  appId: number,
  keyOf: (kid: string) => Promise<VerifyingKey | null>,
  now: number,
): Promise<SignedGrant | null> {
  let header: unknown;
  try {
    header = decodeHeader(token);
  } catch {
    return null;
  }
  const named = SignedHeader.safeParse(header);
  if (!named.success) return null;
  const { alg, kid } = named.data;
  const found = await keyOf(kid);
  if (!found || found.alg !== alg) return null;
  let payload: unknown;
  try {
    // Hono checks the header again (a JWT or no typ), the audience and the signature with the key, imported for
    // its own algorithm. Its time checks read Date.now() and allow no skew for iat; ours below read `now`.
    payload = await verify(token, found.key, { alg, aud: `app:${appId}`, exp: false, nbf: false, iat: false });
  } catch {
    return null;
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) return null;
  const { sub, name, role, iat, exp, nbf } = claims.data;
  const nowS = Math.floor(now / 1000);
  if (exp <= nowS || (nbf !== undefined && nbf > nowS)) return null;
  // A day at most, counted from an iat that is not in the future (else a far iat would stretch the day).
  if (exp - iat > MAX_SIGNED_TOKEN_LIFETIME_S || iat > nowS + CLOCK_SKEW_S) return null;
  return { user: { auth_id: sub, uname: name, role }, expiresAt: exp * 1000, kid };
}
