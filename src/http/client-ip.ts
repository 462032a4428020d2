import {
  convertIPv4BinaryToString,
  convertIPv4MappedIPv6ToIPv4,
  convertIPv6BinaryToString,
  convertIPv6ToBinary,
  distinctRemoteAddr,
  isIPv4MappedIPv6,
} from "hono/utils/ipaddr";

/** The address of requests that came without one (locally: Cloudflare always sets CF-Connecting-IP). */
export const UNKNOWN_IP = "unknown";

/** The longest address text kept: an IPv6 address with an embedded IPv4 one is 45 characters. */
const MAX_ADDRESS_LENGTH = 45;

/**
 * The client's network, as the per-address limit counts it and as shards are chosen: its IPv4 address, or the
 * /64 prefix of its IPv6 address (`2001:db8:1:2::/64`), since one host is routinely given a whole /64 and could
 * otherwise present 2^64 addresses. Requests without CF-Connecting-IP share the {@link UNKNOWN_IP} allowance.
 */
export function clientIp(request: Request): string {
  const address = request.headers.get("CF-Connecting-IP");
  if (address === null) return UNKNOWN_IP;
  return distinctRemoteAddr(address) === "IPv6" ? ipv6Network(address) : address.slice(0, MAX_ADDRESS_LENGTH);
}

/** An IPv6 address's /64 (an IPv4 address mapped into IPv6 stays that IPv4 address). */
function ipv6Network(address: string): string {
  let binary: bigint;
  try {
    binary = convertIPv6ToBinary(address);
  } catch {
    return address.slice(0, MAX_ADDRESS_LENGTH);
  }
  if (isIPv4MappedIPv6(binary)) return convertIPv4BinaryToString(convertIPv4MappedIPv6ToIPv4(binary));
  return `${convertIPv6BinaryToString((binary >> 64n) << 64n)}/64`;
}
