import { describe, expect, it } from "vitest";
import { UNKNOWN_IP, clientIp } from "../../src/http/client-ip.js";

const from = (address?: string) => clientIp(new Request("http://x/", { headers: address === undefined ? {} : { "CF-Connecting-IP": address } }));

describe("clientIp: the network the per-address limit counts", () => {
  it("counts an IPv4 address as itself", () => {
    expect(from("203.0.113.7")).toBe("203.0.113.7");
  });

  it("counts every address of an IPv6 /64 as one, however it is written", () => {
    const network = from("2001:db8:1:2::1");
    expect(network).toBe("2001:db8:1:2::/64");
    expect(from("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe(network);
    expect(from("2001:DB8:1:2:a:b:c:d")).toBe(network);
    expect(from("2001:db8:1:3::1")).not.toBe(network);
  });

  it("counts an IPv4 address mapped into IPv6 as the IPv4 address", () => {
    expect(from("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("keeps at most a bounded length of text it cannot read, and a missing header is the shared unknown address", () => {
    expect(from(`2001:${"x".repeat(5_000)}`).length).toBeLessThanOrEqual(45);
    expect(from("x".repeat(5_000)).length).toBeLessThanOrEqual(45);
    expect(from()).toBe(UNKNOWN_IP);
  });
});
