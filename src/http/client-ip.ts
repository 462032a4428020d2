/** The address of requests that came without one (locally: Cloudflare always sets CF-Connecting-IP). */
export const UNKNOWN_IP = "unknown";

/** The client's address as Cloudflare reports it; requests without one share the {@link UNKNOWN_IP} allowance. */
export function clientIp(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? UNKNOWN_IP;
}
