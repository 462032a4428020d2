import { hexOf } from "../ids.js";

/** The header a delivery's signature travels in, in the form `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = "Socketpot-Signature";

const encoder = new TextEncoder();

/**
 * The signature header of a request with `body` sent at `timestamp` (unix seconds): an HMAC-SHA256, keyed with
 * the endpoint's secret (its UTF-8 bytes), of the timestamp, a full stop and the body, as Stripe signs.
 */
export async function signatureHeader(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return `t=${timestamp},v1=${hexOf(new Uint8Array(mac))}`;
}
