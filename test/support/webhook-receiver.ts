import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got: its path, its signature header and its body as sent. */
export interface Received {
  path: string;
  signature: string;
  body: string;
  event: { id: string; type: string; app_id: number; created_at: string; data: Record<string, unknown> };
}

/**
 * How a path answers: `ok` with 204; `fail:N` with 500 to the first N requests for each event id, then 204;
 * `hang` never (the request stays open until the receiver closes).
 */
type Behaviour = "ok" | `fail:${number}` | "hang";

/** A real HTTP receiver on the loopback, as an app's backend would run one, recording every delivery. */
export async function startReceiver() {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  const attemptsById = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const path = request.url ?? "/";
      const event = JSON.parse(body) as Received["event"];
      received.push({ path, signature: String(request.headers["socketpot-signature"] ?? ""), body, event });
      const behaviour = path.slice(1) as Behaviour;
      if (behaviour === "hang") {
        hanging.add(response);
        response.on("close", () => hanging.delete(response));
        return;
      }
      const attempts = (attemptsById.get(`${path} ${event.id}`) ?? 0) + 1;
      attemptsById.set(`${path} ${event.id}`, attempts);
      const failures = behaviour.startsWith("fail:") ? Number(behaviour.slice(5)) : 0;
      response.writeHead(attempts <= failures ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (behaviour: Behaviour) => `http://127.0.0.1:${port}/${behaviour}`,
    received,
    /** Requests held open by `hang` paths right now. */
    hanging: () => hanging.size,
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Checks a delivery's signature as docs/webhooks.md tells a receiver to: the header's `t` and `v1`, the
 * HMAC-SHA256 of `t.body` with the secret, compared in constant time, and `t` within `toleranceSeconds`.
 */
export function verifySignature(header: string, body: string, secret: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = new Map(header.split(",").map((part) => part.split("=", 2) as [string, string]));
  const timestamp = Number(parts.get("t"));
  const signature = parts.get("v1") ?? "";
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
