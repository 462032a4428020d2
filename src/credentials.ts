import { hexOf } from "./ids.js";

/**
 * The secrets the service issues: users' access tokens and apps' keys. Each is shown once, when issued;
 * storage keeps its SHA-256 digest, which is what a presented secret is looked up by, and a short prefix that
 * lets an operator tell secrets apart in a listing without being able to use them.
 */

/**
 * What an app key may do, each for its own app only: post events, issue and revoke access tokens (and register
 * the keys that sign them), read messages, publish, moderate, read the app's figures, manage its webhooks.
 */
export const SCOPES = ["events:write", "tokens:write", "messages:read", "messages:write", "moderation:write", "stats:read", "webhooks:write"] as const;
export type Scope = (typeof SCOPES)[number];

/** The scopes of a key issued without any named: what keys could do before scopes. */
export const DEFAULT_SCOPES: Scope[] = ["events:write"];

/** How many leading characters of a secret a listing shows. */
const PREFIX_LENGTH = 8;

const INGEST_KEY_PREFIX = "spk_";
const INGEST_KEY = new RegExp(`^${INGEST_KEY_PREFIX}[0-9a-f]{32}$`);


/** The lower-case hex SHA-256 of `secret`. */
export async function digestOf(secret: string): Promise<string> {
  return hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret))));
}

/** Access tokens are UUIDs and match whatever their case, so the digest is of the lower-case form. */
export function accessTokenDigest(token: string): Promise<string> {
  return digestOf(token.toLowerCase());
}

export function prefixOf(secret: string): string {
  return secret.slice(0, PREFIX_LENGTH);
}

export function newAccessToken(): string {
  return crypto.randomUUID();
}

/** An app key: `spk_` and 128 random bits in hex: the prefix tells a leaked key for what it is (e.g. to secret scanners). */
export function newIngestKey(): string {
  return INGEST_KEY_PREFIX + hexOf(crypto.getRandomValues(new Uint8Array(16)));
}

/** Whether a bearer secret has the shape of an app key (otherwise it can only be one of the platform's secrets). */
export function looksLikeIngestKey(secret: string): boolean {
  return INGEST_KEY.test(secret);
}

/** The longest signed token looked at: one of the claims a signed access token has is a few hundred characters. */
export const MAX_SIGNED_TOKEN_LENGTH = 4_096;

/** Three base64url parts: what a compact JWS looks like. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether an `access_token` has the shape of a token the app signed (src/signed-tokens.ts); a UUID does not. */
export function looksSigned(token: string): boolean {
  return token.length <= MAX_SIGNED_TOKEN_LENGTH && COMPACT_JWS.test(token);
}
