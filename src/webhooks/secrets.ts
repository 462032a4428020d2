import { hexOf } from "../ids.js";

/**
 * Endpoint secrets. A delivery is signed with the secret, so storage must give it back: it holds it encrypted
 * (AES-256-GCM, with a key derived from the deployment's WEBHOOK_SECRETS_KEY and bound to the app), never in
 * the clear; a copy of the database alone signs nothing.
 */

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

/** A new endpoint secret: `whsec_` and 256 random bits in hex. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + hexOf(crypto.getRandomValues(new Uint8Array(32)));
}

async function keyOf(masterKey: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(masterKey), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("socketpot webhook secrets v1") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const bytesOf = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));

/** `secret` sealed for storage, as `v1.<iv>.<ciphertext>` (base64), readable only with the same key and app. */
export async function sealSecret(masterKey: string, appId: number, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(`app:${appId}`) }, await keyOf(masterKey), encoder.encode(secret));
  return `v1.${base64(iv)}.${base64(new Uint8Array(sealed))}`;
}

/** The secret `sealed` holds; throws when it was sealed with another key or for another app. */
export async function openSecret(masterKey: string, appId: number, sealed: string): Promise<string> {
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== "v1" || !iv || !ciphertext) throw new Error("not a sealed webhook secret");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytesOf(iv), additionalData: encoder.encode(`app:${appId}`) }, await keyOf(masterKey), bytesOf(ciphertext));
  return new TextDecoder().decode(plain);
}
