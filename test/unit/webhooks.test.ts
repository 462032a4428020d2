import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { EventIds, type WebhookDelivery } from "../../src/webhooks/events.js";
import { WEBHOOK_ATTEMPTS, retryDelaySeconds } from "../../src/webhooks/consumer.js";
import { WEBHOOK_QUEUE } from "../../src/webhooks/outbox.js";
import { WebhookOutbox, type WebhookSubscription } from "../../src/webhooks/outbox.js";
import { newWebhookSecret, openSecret, sealSecret } from "../../src/webhooks/secrets.js";
import { signatureHeader } from "../../src/webhooks/signature.js";
import { webhookUrlProblem } from "../../src/webhooks/urls.js";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES } from "../../src/limits.js";
import { queueMessageBytes } from "../../src/queue/batches.js";
import { MemoryHost } from "../support/memory-room.js";

describe("webhook event ids", () => {
  it("sort in the order they were made, within a millisecond and across, and never repeat", () => {
    const ids = new EventIds();
    const made: string[] = [];
    for (let index = 0; index < 70_000; index++) made.push(ids.next(1_000 + Math.floor(index / 30_000)));
    // A clock that steps back changes nothing of the order.
    made.push(ids.next(500), ids.next(5_000));
    expect(made.every((id) => /^evt_[0-9a-f]{24}$/.test(id))).toBe(true);
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });
});

describe("webhook signatures and secrets", () => {
  it("sign the timestamp and body as HMAC-SHA256 with the secret, as any HMAC library computes it", async () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ id: "evt_1", text: "héllo ✓" });
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(await signatureHeader(secret, 1_700_000_000, body)).toBe(`t=1700000000,v1=${expected}`);
  });

  it("seal a secret for one app under the deployment's key: nothing of it in the clear, and no other key or app opens it", async () => {
    const key = "k".repeat(32);
    const secret = newWebhookSecret();
    const sealed = await sealSecret(key, 7, secret);
    expect(sealed).not.toContain(secret.slice(6, 20));
    expect(await openSecret(key, 7, sealed)).toBe(secret);
    await expect(openSecret(key, 8, sealed)).rejects.toThrow();
    await expect(openSecret("j".repeat(32), 7, sealed)).rejects.toThrow();
    expect(await sealSecret(key, 7, secret)).not.toBe(sealed);
  });

  it.each([
    ["https://hooks.example.com/in", false, null],
    ["http://127.0.0.1:8080/in", true, null],
    ["http://localhost/in", true, null],
    ["http://[::1]:9000/in", true, null],
    ["http://127.0.0.1:8080/in", false, "url must be https://"],
    ["http://example.com/in", true, "url must be https://, or http:// to the loopback (127.0.0.1, localhost, [::1])"],
    ["ftp://127.0.0.1/in", true, "url must be https://, or http:// to the loopback (127.0.0.1, localhost, [::1])"],
    ["https://me:pw@hooks.example.com/in", false, "url must not hold credentials; the signature authenticates each delivery"],
    ["/relative", false, "url must be an absolute URL"],
    ...["https://127.0.0.1/in", "https://localhost/in", "https://api.localhost/in", "https://10.1.2.3/in", "https://172.20.0.1/in", "https://192.168.1.1/in", "https://169.254.169.254/latest", "https://100.64.0.1/in", "https://0.0.0.0/in", "https://[::1]/in", "https://[fd00::1]/in", "https://[fe80::1]/in", "https://[::ffff:127.0.0.1]/in", "https://0x7f.1/in", "https://2130706433/in"].map(
      (url) => [url, false, "url must not point at a loopback, private or link-local address"] as const,
    ),
    ["https://172.32.0.1/in", false, null],
    ["https://[2606:4700::1111]/in", false, null],
    ["https://127.0.0.1:8443/in", true, null],
  ] as const)("takes %s (loopback allowed: %s): %s", (url, loopback, problem) => {
    expect(webhookUrlProblem(url, loopback)).toBe(problem);
  });
});

describe("webhook retries", () => {
  it("wait four times longer each time, at most 12 hours, and give up within the day a Free plan's Queue keeps a message", async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => retryDelaySeconds(attempt, 10))).toEqual([10, 40, 160, 640, 2_560, 10_240, 40_960, 43_200]);
    const waited = Array.from({ length: WEBHOOK_ATTEMPTS - 1 }, (_, index) => retryDelaySeconds(index + 1, 10)).reduce((sum, delay) => sum + delay, 0);
    expect(waited).toBeLessThan(24 * 3_600);
  });

  it("match wrangler.toml: the Queue gives up after the attempts the consumer counts, 25 POSTs an invocation at most", async () => {
    const toml = await readFile(new URL("../../wrangler.toml", import.meta.url), "utf8");
    const consumer = toml.split("[[queues.consumers]]").find((block) => block.trimStart().startsWith(`queue = "${WEBHOOK_QUEUE}"`));
    const setting = (name: string) => Number(new RegExp(`^${name} = (\\d+)$`, "m").exec(consumer ?? "")?.[1]);
    expect(setting("max_retries")).toBe(WEBHOOK_ATTEMPTS - 1);
    // One POST a message: within the 50 external subrequests an invocation has on Workers Free.
    expect(setting("max_batch_size")).toBeLessThanOrEqual(25);
    expect(consumer).toContain(`dead_letter_queue = "${WEBHOOK_QUEUE}-dlq"`);
    expect(toml).toMatch(new RegExp(`binding = "WEBHOOKS"\\nqueue = "${WEBHOOK_QUEUE}"`));
  });
});

describe("WebhookOutbox", () => {
  function outbox(subscriptions: WebhookSubscription[]) {
    const host = new MemoryHost();
    const sent: WebhookDelivery[][] = [];
    const sink = {
      reads: 0,
      failures: 0,
      subscriptions: async () => {
        sink.reads += 1;
        return subscriptions;
      },
      send: async (deliveries: WebhookDelivery[]) => {
        if (sink.failures > 0) {
          sink.failures -= 1;
          throw new Error("Queue unavailable");
        }
        sent.push(deliveries);
      },
    };
    return { host, sink, sent, box: new WebhookOutbox(9, sink, host) };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("hands a burst over in one go after the gathering time: one message per event and endpoint that takes it", async () => {
    const { host, sink, sent, box } = outbox([
      { id: 1, events: ["message.created", "user.joined"] },
      { id: 2, events: ["message.created"] },
    ]);
    box.emit("message.created", { id: 1 });
    box.emit("user.joined", { uname: "a" });
    box.emit("user.left", { uname: "a" });
    expect(sent).toEqual([]);
    host.advance(250);
    await settle();
    expect(sink.reads).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((delivery) => [delivery.endpoint_id, delivery.event.type])).toEqual([
      [1, "message.created"],
      [2, "message.created"],
      [1, "user.joined"],
    ]);
    expect(sent[0]![0]!.event).toEqual({ id: expect.stringMatching(/^evt_/), type: "message.created", app_id: 9, created_at: new Date(host.clock - 250).toISOString(), data: { id: 1 } });
    expect(sent[0]![0]!.event.id).toBe(sent[0]![1]!.event.id);
  });

  it("keeps nothing, after one read, for types no endpoint takes", async () => {
    const { host, sink, sent, box } = outbox([]);
    box.emit("message.created", { id: 1 });
    host.advance(250);
    await settle();
    for (let index = 0; index < 1_000; index++) box.emit("message.created", { id: index });
    expect(host.scheduled).toEqual([]);
    expect([sink.reads, sent]).toEqual([1, []]);
  });

  it("splits what it hands over within the Queue's sendBatch limits", async () => {
    const { host, sent, box } = outbox([1, 2, 3].map((id) => ({ id, events: ["message.created" as const] })));
    for (let index = 0; index < 200; index++) box.emit("message.created", { text: "x".repeat(1_000) });
    host.advance(250);
    await settle();
    expect(sent.flat()).toHaveLength(600);
    for (const batch of sent) {
      expect(batch.length).toBeLessThanOrEqual(QUEUE_BATCH_MESSAGES);
      expect(batch.reduce((sum, delivery) => sum + queueMessageBytes(delivery), 0)).toBeLessThanOrEqual(QUEUE_BATCH_BYTES);
    }
  });

  it("tries a failed handover again, later, and reads the endpoints again after they change", async () => {
    const { host, sink, sent, box } = outbox([{ id: 1, events: ["user.joined"] }]);
    sink.failures = 1;
    box.emit("user.joined", { uname: "a" });
    host.advance(250);
    await settle();
    expect(sent).toEqual([]);
    host.advance(500);
    await settle();
    expect(sent.flat()).toHaveLength(1);
    box.changed();
    box.emit("user.joined", { uname: "b" });
    host.advance(250);
    await settle();
    expect([sink.reads, sent.flat().length]).toEqual([2, 2]);
  });

  it("holds at most 10,000 events while the Queue cannot be reached, dropping the oldest", async () => {
    const { host, sink, sent, box } = outbox([{ id: 1, events: ["message.created"] }]);
    box.emit("message.created", { index: -1 });
    host.advance(250);
    await settle();
    sink.failures = 1;
    for (let index = 0; index < 10_050; index++) box.emit("message.created", { index });
    host.advance(250);
    await settle();
    host.advance(500);
    await settle();
    const delivered = sent.flat().map((delivery) => delivery.event.data["index"]);
    expect(delivered).toHaveLength(10_001);
    expect(delivered.slice(0, 2)).toEqual([-1, 50]);
    expect(delivered.at(-1)).toBe(10_049);
  });
});
