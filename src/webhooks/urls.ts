/** The longest endpoint URL taken. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Why `url` cannot be a webhook endpoint, or null when it can: `https://`, without credentials in it; plain
 * `http://` only to the loopback and only where the deployment allows it (local development and tests).
 */
export function webhookUrlProblem(url: string, allowHttpLoopback: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "url must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "url must not hold credentials; the signature authenticates each delivery";
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:" && allowHttpLoopback && LOOPBACK_HOSTS.has(parsed.hostname)) return null;
  return allowHttpLoopback ? "url must be https://, or http:// to the loopback (127.0.0.1, localhost, [::1])" : "url must be https://";
}
