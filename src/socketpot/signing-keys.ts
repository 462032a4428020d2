import { PublicSigningJwk, verifyingKey, type VerifyingKey } from "../signed-tokens.js";

/** How long an app's signing keys are trusted before they are read again (a deletion also reaches the room at once). */
export const SIGNING_KEYS_TTL_MS = 60_000;

/** How often, at most, a token naming a key not known yet makes the keys be read again (a key just registered). */
const UNKNOWN_KID_READ_MS = 5_000;

/**
 * A room's cache of its app's signing keys, imported once each: verifying a signed token reads no storage while
 * the keys are fresh. A kid not known is looked for again at most every few seconds, so that a key registered a
 * moment ago works at once while made-up kids cannot make every auth read storage.
 */
export class SigningKeys {
  private keys: Map<string, VerifyingKey> | null = null;
  private loading: Promise<Map<string, VerifyingKey>> | null = null;
  private readAt = -Infinity;

  constructor(
    /** The app's registered public keys, as storage holds them. */
    private readonly read: () => Promise<unknown[]>,
    private readonly now: () => number,
  ) {}

  /** The key registered under `kid`, or null. */
  async keyOf(kid: string): Promise<VerifyingKey | null> {
    const age = this.now() - this.readAt;
    let keys = this.keys && age <= SIGNING_KEYS_TTL_MS ? this.keys : await this.load();
    if (!keys.has(kid) && this.now() - this.readAt > UNKNOWN_KID_READ_MS) keys = await this.load();
    return keys.get(kid) ?? null;
  }

  /** A key was deleted (or added): the next use reads them again. */
  forget(): void {
    this.keys = null;
    this.readAt = -Infinity;
  }

  private load(): Promise<Map<string, VerifyingKey>> {
    this.loading ??= (async () => {
      try {
        const keys = new Map<string, VerifyingKey>();
        // A stored key is checked again: one that no longer imports is left out rather than failing every auth.
        for (const stored of await this.read()) {
          const jwk = PublicSigningJwk.safeParse(stored);
          const key = jwk.success ? await verifyingKey(jwk.data).catch(() => null) : null;
          if (jwk.success && key) keys.set(jwk.data.kid, key);
        }
        this.keys = keys;
        this.readAt = this.now();
        return keys;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
