import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index.js";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_BYTES } from "../../src/limits.js";
import { queueMessageBytes } from "../../src/queue/batches.js";
import { appRoom } from "./room-socket.js";

const INGEST_TOKEN = "worker-test-ingest-token";

/**
 * The real local queue with every sendBatch call recorded (and then made): Miniflare takes up to 288 KB per
 * call, Cloudflare 256 KB, so the bytes of each call are measured here against Cloudflare's limit.
 */
function recordedQueue() {
  const calls: Array<{ messages: number; bytes: number }> = [];
  const queue = {
    send: (body: unknown, options?: QueueSendOptions) => env.EVENTS.send(body, options),
    sendBatch: (messages: Iterable<MessageSendRequest<unknown>>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      calls.push({ messages: list.length, bytes: list.reduce((sum, message) => sum + queueMessageBytes(message.body), 0) });
      return env.EVENTS.sendBatch(list, options);
    },
  } as Queue<unknown>;
  return { queue, calls };
}

async function post(events: unknown[], queue: Queue<unknown>): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request("http://edge.test/v1/apps/1/events", {
    method: "POST",
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(events),
  });
  const response = await worker.fetch(request, { ...env, INGEST_TOKEN, EVENTS: queue }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** A bet event whose JSON is about `bytes` long (the bet carries a note; producers may add fields). */
const bigBet = (id: string, bytes: number) => ({ id, type: "new_bet", bet: { id: 1, uname: "bob", wager: 1, profit: 1, note: "x".repeat(bytes) } });

describe("ingest within the Queue's limits", () => {
  it("takes 100 events of 9 KB (900 KB, past Miniflare's 288 KB and Cloudflare's 256 KB per call) and delivers every one", async () => {
    const { queue, calls } = recordedQueue();
    const events = Array.from({ length: 100 }, (_, i) => bigBet(`big-${i}`, 9_000));
    const response = await post(events, queue);
    expect(response.status).toBe(202);
    expect(((await response.json()) as { accepted: string[] }).accepted).toEqual(events.map((event) => event.id));
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) {
      expect(call.bytes).toBeLessThanOrEqual(QUEUE_BATCH_BYTES);
      expect(call.messages).toBeLessThanOrEqual(QUEUE_BATCH_MESSAGES);
    }
    expect(calls.reduce((sum, call) => sum + call.messages, 0)).toBe(100);
    // The local queue delivers them to app 1's room, which remembers each id it took.
    await expect
      .poll(() => runInDurableObject(appRoom(1), (_, state) => state.storage.sql.exec("SELECT count(*) AS n FROM delivered_events WHERE id LIKE 'big-%'").one()["n"]), { timeout: 10_000 })
      .toBe(100);
  });

  it("answers 202 for requests of every shape up to the body limit, each call within the Queue's limits, and 413 one byte past it", async () => {
    /** Events of about `bytes` each, the last padded so that the request's body is exactly `total` bytes. */
    const bodyOf = (prefix: string, count: number, bytes: number, total?: number) => {
      const events = Array.from({ length: count }, (_, i) => bigBet(`${prefix}-${i}`, bytes));
      if (total !== undefined) events.at(-1)!.bet.note += "x".repeat(total - JSON.stringify(events).length);
      return events;
    };
    const requests = [
      bodyOf("one", 1, 10),
      bodyOf("small", 100, 10),
      bodyOf("mixed", 37, 20_000),
      bodyOf("limit", 9, 110_000, 1_000_000),
    ];
    expect(JSON.stringify(requests[3]).length).toBe(1_000_000);
    for (const events of requests) {
      const { queue, calls } = recordedQueue();
      const response = await post(events, queue);
      expect(response.status, `${events.length} events`).toBe(202);
      for (const call of calls) {
        expect(call.bytes).toBeLessThanOrEqual(QUEUE_BATCH_BYTES);
        expect(call.messages).toBeLessThanOrEqual(QUEUE_BATCH_MESSAGES);
      }
      expect(calls.reduce((sum, call) => sum + call.messages, 0)).toBe(events.length);
    }
    const { queue, calls } = recordedQueue();
    const over = await post(bodyOf("over", 9, 110_000, 1_000_001), queue);
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
    expect(calls).toEqual([]);
  });

  it("refuses an event too large for one Queue message with 413 naming it and the limit, and enqueues nothing of the request", async () => {
    const { queue, calls } = recordedQueue();
    const response = await post([bigBet("fits", 1_000), bigBet("too-large", QUEUE_MESSAGE_BYTES)], queue);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: "EVENT_TOO_LARGE",
      message: expect.stringMatching(new RegExp(`^event too-large takes \\d+ bytes as a queue message; one takes at most ${QUEUE_MESSAGE_BYTES}$`)),
    });
    expect(calls).toEqual([]);
  });
});
