import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { isoDate } from "../iso-date.js";
import { accessTokenDigest, digestOf, looksLikeIngestKey, newAccessToken, newIngestKey, prefixOf, SCOPES, type Scope } from "../credentials.js";
import { log } from "../log.js";
import { Role, type User } from "../socketpot/schemas.js";
import type { TokenGrant } from "../socketpot/store.js";
import { algorithmOf, publicJwk, SIGNING_ALGORITHMS, type PublicSigningJwk } from "../signed-tokens.js";

/**
 * Access tokens and ingest keys on D1, by digest (src/credentials.ts): a secret is in the answer that issues it
 * and nowhere else. Tokens issued before digests are digested here, once per isolate, before any lookup.
 */

const TokenRow = builtOnFirstUse(() => z.object({
  id: z.number().int(),
  prefix: z.string(),
  auth_id: z.number().int(),
  uname: z.string(),
  role: Role,
  created_at: z.number(),
  expires_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
}));
const Scopes = builtOnFirstUse(() => z.string().transform((text) => z.array(z.enum(SCOPES)).parse(JSON.parse(text))));
const KeyRow = builtOnFirstUse(() => z.object({ id: z.number().int(), prefix: z.string(), scopes: Scopes, created_at: z.number(), revoked_at: z.number().nullable() }));
const PlaintextRow = builtOnFirstUse(() => TokenRow.omit({ id: true, prefix: true }).extend({ token: z.string(), app_id: z.number().int() }));
const GrantRow = builtOnFirstUse(() => z.object({ auth_id: z.number().int(), uname: z.string(), role: Role, expires_at: z.number().nullable() }));
const KeyOwnerRow = builtOnFirstUse(() => z.object({ id: z.number().int(), app_id: z.number().int(), scopes: Scopes, revoked_at: z.number().nullable() }));

const SigningKeyRow = builtOnFirstUse(() => z.object({ id: z.number().int(), kid: z.string(), alg: z.enum(SIGNING_ALGORITHMS), jwk: z.string(), created_at: z.number() }));

const TOKEN_COLUMNS = "id, prefix, auth_id, uname, role, created_at, expires_at, revoked_at";
const SIGNING_KEY_COLUMNS = "id, kid, alg, jwk, created_at";
const KEY_COLUMNS = "id, prefix, scopes, created_at, revoked_at";
/** Plain-text tokens digested per batch (two statements each), well inside D1's limits on a batch. */
const DIGEST_BATCH = 50;

export type TokenView = ReturnType<typeof tokenView>;
export type KeyView = ReturnType<typeof keyView>;

function tokenView(row: unknown) {
  const token = TokenRow.parse(row);
  return { ...token, created_at: isoDate(token.created_at), expires_at: isoDate(token.expires_at), revoked_at: isoDate(token.revoked_at) };
}

export type SigningKeyView = ReturnType<typeof signingKeyView>;

function signingKeyView(row: unknown) {
  const key = SigningKeyRow.parse(row);
  return { id: key.id, kid: key.kid, alg: key.alg, jwk: z.record(z.string(), z.string()).parse(JSON.parse(key.jwk)), created_at: isoDate(key.created_at) };
}

function keyView(row: unknown) {
  const key = KeyRow.parse(row);
  return { ...key, created_at: isoDate(key.created_at), revoked_at: isoDate(key.revoked_at) };
}

/** An app key as its holder is judged: its app, what it may do there, and whether it was revoked. */
export interface KeyOwner {
  id: number;
  appId: number;
  scopes: Scope[];
  revoked: boolean;
}

/** Per database, the isolate's one pass over tokens issued before digests. */
const digested = new WeakMap<D1Database, Promise<void>>();

export class D1Credentials {
  constructor(private readonly db: D1Database) {}

  /** Resolves once no token of this database is kept in plain text. */
  ready(): Promise<void> {
    let done = digested.get(this.db);
    if (!done) {
      done = this.digestPlaintextTokens().catch((error: unknown) => {
        digested.delete(this.db);
        throw error;
      });
      digested.set(this.db, done);
    }
    return done;
  }

  /**
   * Moves each plain-text token into access_tokens as its digest, each batch in one transaction. Isolates may
   * race here: a token digested twice is inserted once (the digest is unique) and deleted once.
   */
  private async digestPlaintextTokens(): Promise<void> {
    for (;;) {
      const { results } = await this.db.prepare("SELECT * FROM plaintext_tokens LIMIT ?1").bind(DIGEST_BATCH).all();
      if (results.length === 0) return;
      const statements = await Promise.all(
        results.map(async (row) => {
          const token = PlaintextRow.parse(row);
          return [
            this.db
              .prepare(
                `INSERT INTO access_tokens (digest, prefix, app_id, auth_id, uname, role, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (digest) DO NOTHING`,
              )
              .bind(
                await accessTokenDigest(token.token),
                prefixOf(token.token.toLowerCase()),
                token.app_id,
                token.auth_id,
                token.uname,
                token.role,
                token.created_at,
                token.expires_at,
                token.revoked_at,
              ),
            this.db.prepare("DELETE FROM plaintext_tokens WHERE token = ?1").bind(token.token),
          ];
        }),
      );
      await this.db.batch(statements.flat());
      log("plaintext_tokens_digested", { count: results.length });
    }
  }

  /** What the token with this digest grants in this app; null when unknown, revoked or another app's. */
  async tokenGrant(appId: number, digest: string): Promise<TokenGrant | null> {
    await this.ready();
    const row = await this.db
      .prepare("SELECT auth_id, uname, role, expires_at FROM access_tokens WHERE digest = ?1 AND app_id = ?2 AND revoked_at IS NULL")
      .bind(digest, appId)
      .first();
    if (!row) return null;
    const grant = GrantRow.parse(row);
    return { user: { uname: grant.uname, auth_id: grant.auth_id, role: grant.role }, expiresAt: grant.expires_at };
  }

  /** Issues a token: the answer is the only place the token itself ever is. */
  async issueToken(appId: number, user: User, expiresAt: number | null, now: number): Promise<TokenView & { token: string }> {
    const token = newAccessToken();
    const row = await this.db
      .prepare(
        `INSERT INTO access_tokens (digest, prefix, app_id, auth_id, uname, role, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING ${TOKEN_COLUMNS}`,
      )
      .bind(await accessTokenDigest(token), prefixOf(token), appId, user.auth_id, user.uname, user.role, now, expiresAt)
      .first();
    return { ...tokenView(row), token };
  }

  /** An app's tokens (of one user when `authId` is given) in id order, `limit` after the id `after`. */
  async listTokens(appId: number, authId: number | undefined, limit: number, after: number): Promise<TokenView[]> {
    await this.ready();
    const { results } = await this.db
      .prepare(
        `SELECT ${TOKEN_COLUMNS} FROM access_tokens
         WHERE app_id = ?1 AND (?2 IS NULL OR auth_id = ?2) AND id > ?3 ORDER BY id LIMIT ?4`,
      )
      .bind(appId, authId ?? null, after, limit)
      .all();
    return results.map(tokenView);
  }

  /**
   * Revokes a token (revoking twice keeps the first time); its digest, for the room to forget, or null when the
   * app has no such token.
   */
  async revokeToken(appId: number, id: number, now: number): Promise<string | null> {
    await this.ready();
    const row = await this.db
      .prepare("UPDATE access_tokens SET revoked_at = coalesce(revoked_at, ?3) WHERE app_id = ?1 AND id = ?2 RETURNING digest")
      .bind(appId, id, now)
      .first();
    return row ? z.object({ digest: z.string() }).parse(row).digest : null;
  }

  async issueKey(appId: number, scopes: Scope[], now: number): Promise<KeyView & { key: string }> {
    const key = newIngestKey();
    const row = await this.db
      .prepare(`INSERT INTO ingest_keys (digest, prefix, app_id, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING ${KEY_COLUMNS}`)
      .bind(await digestOf(key), prefixOf(key), appId, JSON.stringify(scopes), now)
      .first();
    return { ...keyView(row), key };
  }

  async listKeys(appId: number, limit: number, after: number): Promise<KeyView[]> {
    const { results } = await this.db
      .prepare(`SELECT ${KEY_COLUMNS} FROM ingest_keys WHERE app_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3`)
      .bind(appId, after, limit)
      .all();
    return results.map(keyView);
  }

  /** Revokes a key (revoking twice keeps the first time); false when the app has no such key. */
  async revokeKey(appId: number, id: number, now: number): Promise<boolean> {
    const result = await this.db
      .prepare("UPDATE ingest_keys SET revoked_at = coalesce(revoked_at, ?3) WHERE app_id = ?1 AND id = ?2")
      .bind(appId, id, now)
      .run();
    return result.meta.changes > 0;
  }

  /** Registers a public key with which the app signs its users' tokens; null when the app has one of that kid. */
  async addSigningKey(appId: number, jwk: PublicSigningJwk, now: number): Promise<SigningKeyView | null> {
    const row = await this.db
      .prepare(`INSERT INTO signing_keys (app_id, kid, alg, jwk, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING RETURNING ${SIGNING_KEY_COLUMNS}`)
      .bind(appId, jwk.kid, algorithmOf(jwk), JSON.stringify(publicJwk(jwk)), now)
      .first();
    return row ? signingKeyView(row) : null;
  }

  async listSigningKeys(appId: number): Promise<SigningKeyView[]> {
    const { results } = await this.db.prepare(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys WHERE app_id = ?1 ORDER BY id`).bind(appId).all();
    return results.map(signingKeyView);
  }

  /** Deletes a signing key; its kid, or null when the app has no such key. */
  async deleteSigningKey(appId: number, id: number): Promise<string | null> {
    const row = await this.db.prepare("DELETE FROM signing_keys WHERE app_id = ?1 AND id = ?2 RETURNING kid").bind(appId, id).first();
    return row ? z.object({ kid: z.string() }).parse(row).kid : null;
  }

  /** The app's public signing keys as registered (each parsed again by whoever uses it). */
  async signingKeys(appId: number): Promise<unknown[]> {
    const { results } = await this.db.prepare("SELECT jwk FROM signing_keys WHERE app_id = ?1").bind(appId).all();
    return results.map((row) => JSON.parse(z.object({ jwk: z.string() }).parse(row).jwk) as unknown);
  }

  /** The live app key `presented` is: null when it has not a key's shape, is unknown, or was revoked. */
  async liveKey(presented: string): Promise<KeyOwner | null> {
    if (!looksLikeIngestKey(presented)) return null;
    const key = await this.keyOwner(await digestOf(presented));
    return key && !key.revoked ? key : null;
  }

  /** The key with this digest, or null when there is none. */
  async keyOwner(digest: string): Promise<KeyOwner | null> {
    const row = await this.db.prepare("SELECT id, app_id, scopes, revoked_at FROM ingest_keys WHERE digest = ?1").bind(digest).first();
    if (!row) return null;
    const key = KeyOwnerRow.parse(row);
    return { id: key.id, appId: key.app_id, scopes: key.scopes, revoked: key.revoked_at !== null };
  }
}
