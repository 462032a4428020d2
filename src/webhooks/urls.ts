/** The longest endpoint URL taken. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Whether `hostname` (as `URL` normalizes it) names this machine or a private network: `localhost`, or an IP
 * literal that is loopback, private, carrier-grade NAT, link-local or unspecified. A name that resolves to such
 * an address cannot be told from here (Workers have no DNS lookup); Cloudflare does not route to private ones.
 */
function isInternalHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(hostname);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (!hostname.startsWith("[")) return false;
  const v6 = hostname.slice(1, -1);
  // Loopback, unspecified, unique-local (fc00::/7), link-local (fe80::/10), and IPv4-mapped (whatever it maps).
  return v6 === "::1" || v6 === "::" || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith("::ffff:");
}

/**
 * Why `url` cannot be a webhook endpoint, or null when it can: `https://` to a public host, without credentials
 * in it; the loopback (over `http://` too) only where the deployment allows it (local development and tests).
 */
export function webhookUrlProblem(url: string, allowHttpLoopback: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "url must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "url must not hold credentials; the signature authenticates each delivery";
  const loopback = allowHttpLoopback && LOOPBACK_HOSTS.has(parsed.hostname);
  if (parsed.protocol === "http:" && loopback) return null;
  if (parsed.protocol !== "https:") return allowHttpLoopback ? "url must be https://, or http:// to the loopback (127.0.0.1, localhost, [::1])" : "url must be https://";
  if (isInternalHost(parsed.hostname) && !loopback) return "url must not point at a loopback, private or link-local address";
  return null;
}
