import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodedBody, printable, pushBatches, run } from "../../scripts/dead-letters.mjs";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_METADATA_BYTES } from "../../src/limits.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "queues-token";

interface Stored {
  id: string;
  body: string;
  metadata: Record<string, string>;
  attempts: number;
  timestamp_ms: number;
  leasedUntil: number;
  lease: string | null;
}

/**
 * A stand-in for Cloudflare's Queues REST API (this machine cannot reach Cloudflare), as its pull-consumer page
 * and API schema describe it: queues found by name with their consumers; peek, which leases nothing; pull, which
 * leases (the message is invisible until acknowledged, marked for retry, or the lease runs out), counts an
 * attempt, and deletes a message that has reached the pull consumer's `max_retries`; ack, which deletes
 * acknowledged messages, makes retried ones visible again at once, and counts only leases it knows; and batch
 * push, which refuses more than 100 messages or 256 KB and a message without its content type. `json` bodies
 * travel base64-encoded, as Cloudflare sends them.
 */
class QueuesStandIn {
  readonly queues = new Map<string, { id: string; messages: Stored[]; pull: boolean; maxRetries: number }>();
  pushes: number[] = [];
  pulls = 0;
  failPushes = false;
  failAcks = false;
  private nextId = 0;
  private server!: Server;
  url = "";

  constructor(names: Array<{ name: string; pull: boolean; maxRetries?: number }>) {
    for (const { name, pull, maxRetries = 100 } of names) this.queues.set(name, { id: `q-${name}`, messages: [], pull, maxRetries });
  }

  put(name: string, body: unknown, contentType = "json", attempts = 6): void {
    const encoded = contentType === "json" ? Buffer.from(JSON.stringify(body)).toString("base64") : String(body);
    this.queue(name).messages.push({
      id: `m${++this.nextId}`,
      body: encoded,
      metadata: { "CF-Content-Type": contentType, "CF-sourceMessageSource": "worker" },
      attempts,
      timestamp_ms: Date.now() - 60_000,
      leasedUntil: 0,
      lease: null,
    });
  }

  /** The bodies a queue holds, decoded as a consumer Worker would receive them. */
  bodies(name: string): unknown[] {
    return this.queue(name).messages.map((message) =>
      message.metadata["CF-Content-Type"] === "json" ? JSON.parse(Buffer.from(message.body, "base64").toString("utf8")) : message.body,
    );
  }

  leased(name: string): number {
    return this.queue(name).messages.filter((message) => message.leasedUntil > Date.now()).length;
  }

  queue(name: string) {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue ${name}`);
    return queue;
  }

  async start(): Promise<void> {
    this.server = createServer(async (request, response) => {
      let text = "";
      for await (const chunk of request) text += chunk;
      const answer = (status: number, result: unknown, errors: Array<{ code: number; message: string }> = []) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result }));
      };
      if (request.headers.authorization !== `Bearer ${TOKEN}`) return answer(403, null, [{ code: 10000, message: "Authentication error" }]);
      const url = new URL(request.url!, "http://x");
      const path = url.pathname;
      const prefix = `/client/v4/accounts/${ACCOUNT}/queues`;
      if (!path.startsWith(prefix)) return answer(404, null, [{ code: 7003, message: "No route for the URI" }]);
      if (request.method === "GET" && path === prefix) {
        const listed = [...this.queues]
          .filter(([name]) => name === url.searchParams.get("name"))
          .map(([name, { id, pull, maxRetries }]) => ({ queue_id: id, queue_name: name, consumers: pull ? [{ type: "http_pull", settings: { max_retries: maxRetries } }] : [] }));
        return answer(200, listed);
      }
      const [, id, , action] = path.slice(prefix.length).split("/");
      const entry = [...this.queues.values()].find((queue) => queue.id === id);
      if (!entry) return answer(404, null, [{ code: 11000, message: "Queue not found" }]);
      const body = JSON.parse(text || "{}");
      const now = Date.now();
      const visible = () => entry.messages.filter((message) => message.leasedUntil <= now);
      const shown = (message: Stored) => ({ id: message.id, body: message.body, attempts: message.attempts, timestamp_ms: message.timestamp_ms, metadata: message.metadata });
      if (action === "peek") return answer(200, { messages: visible().slice(0, body.batch_size ?? 5).map(shown) });
      if (action === "pull") {
        if (!entry.pull) return answer(400, null, [{ code: 11004, message: "Queue does not have an HTTP pull consumer" }]);
        this.pulls += 1;
        entry.messages = entry.messages.filter((message) => message.leasedUntil > now || message.attempts < entry.maxRetries);
        const taken = visible().slice(0, Math.min(body.batch_size ?? 5, 100));
        for (const message of taken) {
          message.attempts += 1;
          message.lease = `lease-${message.id}-${message.attempts}`;
          message.leasedUntil = now + (body.visibility_timeout_ms ?? 30_000);
        }
        return answer(200, { messages: taken.map((message) => ({ ...shown(message), lease_id: message.lease })) });
      }
      if (action === "ack") {
        if (this.failAcks) return answer(500, null, [{ code: 10001, message: "Internal error" }]);
        const known = new Set(entry.messages.map((message) => message.lease));
        const acked = new Set<string>(body.acks.map((each: { lease_id: string }) => each.lease_id).filter((lease: string) => known.has(lease)));
        const retried = new Set<string>(body.retries.map((each: { lease_id: string }) => each.lease_id).filter((lease: string) => known.has(lease)));
        entry.messages = entry.messages.filter((message) => !acked.has(message.lease!));
        for (const message of entry.messages) if (retried.has(message.lease!)) message.leasedUntil = 0;
        return answer(200, { ackCount: acked.size, retryCount: retried.size, warnings: {} });
      }
      if (action === "batch") {
        const messages: Array<{ body: unknown; content_type: string }> = body.messages;
        const bytes = messages.reduce((sum, message) => sum + Buffer.byteLength(JSON.stringify(message.body)) + QUEUE_MESSAGE_METADATA_BYTES, 0);
        if (this.failPushes) return answer(500, null, [{ code: 10001, message: "Internal error" }]);
        if (messages.length > QUEUE_BATCH_MESSAGES || bytes > QUEUE_BATCH_BYTES) return answer(413, null, [{ code: 11010, message: "batch too large" }]);
        if (messages.some((message) => message.content_type !== "json" && message.content_type !== "text")) return answer(400, null, [{ code: 11011, message: "content_type" }]);
        this.pushes.push(messages.length);
        for (const message of messages) this.put([...this.queues].find(([, queue]) => queue === entry)![0], message.body, message.content_type, 0);
        return answer(200, {});
      }
      return answer(404, null, [{ code: 7003, message: "No route for the URI" }]);
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/client/v4`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const deposit = (n: number, pad = 0) => ({ id: `e${n}`, type: "balance_change", auth_id: 7, balance: n, diff: 1, ...(pad > 0 ? { note: "x".repeat(pad) } : {}) });

describe("npm run dead-letters", () => {
  let api: QueuesStandIn;
  let lines: string[];
  const dlq = (source: string, pull = true, maxRetries = 100) => [
    { name: source, pull: false },
    { name: `${source}-dlq`, pull, maxRetries },
  ];
  const start = async (names: Array<{ name: string; pull: boolean; maxRetries?: number }>) => {
    api = new QueuesStandIn(names);
    await api.start();
  };
  const env = () => ({ CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT, CLOUDFLARE_API_BASE_URL: api.url });
  const dead = (args: string[], environment: Record<string, string | undefined> = env()) => run(args, environment, (line) => lines.push(line));

  beforeEach(() => {
    lines = [];
  });
  afterEach(() => api?.stop());

  it("lists what waits in each dead-letter queue, readably, and leaves it there", async () => {
    await start([...dlq("socketpot-events"), ...dlq("socketpot-webhooks")]);
    api.put("socketpot-events-dlq", deposit(1));
    api.put("socketpot-webhooks-dlq", { endpoint_id: 3, event: { id: "w1", type: "chat.message" } });
    expect(await dead(["list"])).toBe(0);
    expect(lines.join("\n")).toMatch(/socketpot-events-dlq: 1 message\(s\) shown\n {2}m1 {2}attempts 6 {2}age 1 min {2}\{"id":"e1","type":"balance_change"/);
    expect(lines.join("\n")).toMatch(/socketpot-webhooks-dlq: 1 message\(s\) shown\n {2}m2 .*"endpoint_id":3/);
    expect(api.queue("socketpot-events-dlq").messages).toHaveLength(1);
    expect(api.queue("socketpot-events-dlq").messages[0]!.attempts).toBe(6);
  });

  it("replays a dead-letter queue onto its source queue in order, in pushes within a batch's limits, and empties it", async () => {
    await start([...dlq("socketpot-events"), ...dlq("socketpot-webhooks")]);
    // 250 events of ~5 KB: more than one pull (100), and more bytes than one push takes (256 KB).
    const events = Array.from({ length: 250 }, (_, n) => deposit(n, 5_000));
    for (const event of events) api.put("socketpot-events-dlq", event);
    api.put("socketpot-webhooks-dlq", { endpoint_id: 3, event: { id: "w1" } });
    expect(await dead(["replay", "events"])).toBe(0);
    expect(api.bodies("socketpot-events")).toEqual(events);
    expect(api.queue("socketpot-events-dlq").messages).toHaveLength(0);
    expect(Math.max(...api.pushes)).toBeLessThan(100);
    expect(api.pushes.reduce((a, b) => a + b, 0)).toBe(250);
    // Only the queue named was touched.
    expect(api.queue("socketpot-webhooks-dlq").messages).toHaveLength(1);
    expect(lines).toContain("socketpot-events-dlq: 250 message(s) replayed to socketpot-events");
  });

  it("acknowledges nothing it could not push: after a failed push every message is still in the dead-letter queue, none leased", async () => {
    await start(dlq("socketpot-events"));
    for (let n = 0; n < 5; n += 1) api.put("socketpot-events-dlq", deposit(n));
    api.failPushes = true;
    expect(await dead(["replay", "events"])).toBe(1);
    expect(api.queue("socketpot-events-dlq").messages).toHaveLength(5);
    expect(api.leased("socketpot-events-dlq")).toBe(0);
    expect(api.queue("socketpot-events").messages).toHaveLength(0);
    expect(lines).toContain("socketpot-events-dlq: stopped: pushing to socketpot-events failed (POST /q-socketpot-events/messages/batch: Internal error); the rest stays in socketpot-events-dlq");
    api.failPushes = false;
    expect(await dead(["replay", "events"])).toBe(0);
    expect(api.bodies("socketpot-events")).toEqual([0, 1, 2, 3, 4].map((n) => deposit(n)));
  });

  it("leaves what it cannot read back (a v8 body) where it is, hands its lease back, and still replays the rest", async () => {
    await start(dlq("socketpot-events"));
    api.put("socketpot-events-dlq", deposit(1));
    api.put("socketpot-events-dlq", "AAAA", "v8");
    api.put("socketpot-events-dlq", deposit(2));
    expect(await dead(["replay", "events"])).toBe(0);
    expect(api.bodies("socketpot-events")).toEqual([deposit(1), deposit(2)]);
    expect(api.queue("socketpot-events-dlq").messages.map((message) => message.metadata["CF-Content-Type"])).toEqual(["v8"]);
    expect(api.leased("socketpot-events-dlq")).toBe(0);
    expect(lines.join("\n")).toMatch(/left in socketpot-events-dlq: m2 .*a v8 body, not readable here/);
    expect(lines).toContain("socketpot-events-dlq: 2 message(s) replayed to socketpot-events, 1 left where they are");
  });

  it("says how to add the pull consumer a replay needs, and pulls nothing without it", async () => {
    await start(dlq("socketpot-events", false));
    api.put("socketpot-events-dlq", deposit(1));
    expect(await dead(["replay", "events"])).toBe(1);
    expect(lines).toEqual(["socketpot-events-dlq has no HTTP pull consumer: run `npx wrangler queues consumer http add socketpot-events-dlq --message-retries 100` once"]);
    expect(api.queue("socketpot-events-dlq").messages[0]!.attempts).toBe(6);
  });

  it("says what is missing: credentials, a queue on the account, a known queue name", async () => {
    await start(dlq("socketpot-events"));
    expect(await dead(["replay"], {})).toBe(1);
    expect(lines).toEqual([
      "set CLOUDFLARE_API_TOKEN to an API token with Account → Queues → Edit",
      "set CLOUDFLARE_ACCOUNT_ID to the account's id (`npx wrangler whoami` shows it)",
    ]);
    lines = [];
    expect(await dead(["list"])).toBe(1);
    expect(lines).toEqual(["the account has no queue named socketpot-webhooks, socketpot-webhooks-dlq: run `npm run check-deploy`, which says how to create them"]);
    lines = [];
    expect(await dead(["replay", "events", "--limit", "0"])).toBe(2);
    expect(lines).toEqual(["--limit must be a positive whole number"]);
    lines = [];
    expect(await dead(["replay", "deposits"])).toBe(2);
    expect(lines[0]).toBe("no dead-letter queue for deposits in wrangler.toml");
    lines = [];
    await expect(dead(["list"], { ...env(), CLOUDFLARE_API_TOKEN: "wrong" })).rejects.toThrow("GET ?name=socketpot-events: Authentication error");
  });

  it("pulls each message once a run: 150 unreadable ones ahead of the rest neither stop it nor use up their attempts", async () => {
    await start(dlq("socketpot-events"));
    for (let n = 0; n < 150; n += 1) api.put("socketpot-events-dlq", "AAAA", "v8", 1);
    for (let n = 0; n < 5; n += 1) api.put("socketpot-events-dlq", deposit(n), "json", 1);
    expect(await dead(["replay", "events"])).toBe(0);
    expect(api.bodies("socketpot-events")).toEqual([0, 1, 2, 3, 4].map((n) => deposit(n)));
    const left = api.queue("socketpot-events-dlq").messages;
    expect(left).toHaveLength(150);
    expect(new Set(left.map((message) => message.attempts))).toEqual(new Set([2]));
    expect(api.leased("socketpot-events-dlq")).toBe(0);
    expect(lines.at(-1)).toBe("socketpot-events-dlq: 5 message(s) replayed to socketpot-events, 150 left where they are");
  });

  it("refuses a pull consumer that would delete messages after a few retries, and says how to replace it", async () => {
    await start(dlq("socketpot-events", true, 3));
    api.put("socketpot-events-dlq", deposit(1));
    expect(await dead(["replay", "events"])).toBe(1);
    expect(lines).toEqual([
      "socketpot-events-dlq's pull consumer deletes a message after 3 retries, and every replay spends one: run `npx wrangler queues consumer http remove socketpot-events-dlq`, then `npx wrangler queues consumer http add socketpot-events-dlq --message-retries 100`",
    ]);
    expect(api.pulls).toBe(0);
  });

  it("says so when a push went through but its acknowledgement did not, and exits 1", async () => {
    await start(dlq("socketpot-events"));
    api.put("socketpot-events-dlq", deposit(1));
    api.failAcks = true;
    expect(await dead(["replay", "events"])).toBe(1);
    expect(api.bodies("socketpot-events")).toEqual([deposit(1)]);
    expect(lines.join("\n")).toMatch(/stopped: 1 message\(s\) were pushed to socketpot-events but not acknowledged \(POST \/q-socketpot-events-dlq\/messages\/ack: Internal error\); the next replay sends them again/);
  });

  it("prints hostile bodies and ids safely, and never echoes a token", async () => {
    expect(printable("a\u009b31mb\u202ec\u2028d")).toBe("a\\u009b31mb\\u202ec\\u2028d");
    expect(printable("😀".repeat(200))).toBe(`${"😀".repeat(160)}…`);
    await start(dlq("socketpot-events"));
    expect(await dead(["list", "events"], { ...env(), CLOUDFLARE_API_TOKEN: "abc\r\nX-Injected: 1" })).toBe(1);
    expect(lines).toEqual(["CLOUDFLARE_API_TOKEN has characters no API token has: copy it again"]);
    lines = [];
    api.put("socketpot-events-dlq", { id: "e1", note: "\u001b[2J\u009b2J\u202e" });
    expect(await dead(["list", "events"])).toBe(0);
    expect(lines[1]).toContain('"note":"\\u001b[2J\\u009b2J\\u202e"');
    expect(lines.join("\n")).not.toMatch(/[\u001b\u009b\u202e]/);
  });

  it("reads bodies as Cloudflare sends them, and pushes within a Queue batch's limits", () => {
    const event = deposit(1);
    expect(decodedBody({ body: Buffer.from(JSON.stringify(event)).toString("base64"), metadata: { "CF-Content-Type": "json" } })).toEqual({ body: event, contentType: "json" });
    expect(decodedBody({ body: JSON.stringify(event), metadata: { "CF-Content-Type": "json" } })).toEqual({ body: event, contentType: "json" });
    expect(decodedBody({ body: "hello", metadata: { "CF-Content-Type": "text" } })).toEqual({ body: "hello", contentType: "text" });
    expect(decodedBody({ body: "AAAA", metadata: { "CF-Content-Type": "bytes" } })).toBeNull();
    const sized = (bytes: number) => ({ body: "x".repeat(bytes - 2 - QUEUE_MESSAGE_METADATA_BYTES) });
    expect(pushBatches([sized(128_000), sized(128_000)]).map((batch) => batch.length)).toEqual([2]);
    expect(pushBatches([sized(128_000), sized(128_001)]).map((batch) => batch.length)).toEqual([1, 1]);
    expect(pushBatches(Array.from({ length: 201 }, () => sized(200))).map((batch) => batch.length)).toEqual([100, 100, 1]);
  });
});
