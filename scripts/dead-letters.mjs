// `npm run dead-letters -- list|replay [events|webhooks]`: what waits in the dead-letter queues wrangler.toml
// names, and putting it back on the queue it came from, where the consumer takes it again as it took it first.
// A replayed event is delivered at most once all the same: the room skips an event id it has already delivered.
// A replayed webhook delivery starts its attempts afresh; receivers tell repeats apart by the event's id.
//
// wrangler has no command that reads a queue's messages, so this speaks Cloudflare's Queues REST API, with
// CLOUDFLARE_API_TOKEN (an API token with Account → Queues → Edit) and CLOUDFLARE_ACCOUNT_ID, the variables
// wrangler itself reads; CLOUDFLARE_API_BASE_URL points it elsewhere (the tests' stand-in). `list` peeks, which
// leaves the messages where they are; `replay` pulls them, which needs the dead-letter queue to have an HTTP pull
// consumer (`npx wrangler queues consumer http add <dead-letter queue> --message-retries 100`), pushes them
// back, and acknowledges only what was pushed: a message is never in neither queue.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import * as z from "zod";
import { ROOT } from "./local-server.mjs";
// Plain TypeScript without imports, which Node 22 runs as it is: the Queue's limits and the batching the Worker uses.
import { chunksBySize } from "../src/chunks.ts";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_METADATA_BYTES } from "../src/limits.ts";

/** How long pulled messages stay leased to this script: ample for one push. */
const LEASE_MS = 60_000;

/** A variable that must be set, and what to set it to when it is not. */
const required = (what) => z.string({ error: what }).min(1, what);
const Env = z.object({
  CLOUDFLARE_API_TOKEN: required("set CLOUDFLARE_API_TOKEN to an API token with Account → Queues → Edit"),
  CLOUDFLARE_ACCOUNT_ID: required("set CLOUDFLARE_ACCOUNT_ID to the account's id (`npx wrangler whoami` shows it)"),
  CLOUDFLARE_API_BASE_URL: z.url().default("https://api.cloudflare.com/client/v4"),
});

/** Cloudflare's answer envelope around each call's result. */
const Envelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ message: z.string() }).loose()).default([]),
  result: z.unknown(),
  result_info: z.object({ total_pages: z.number().optional() }).loose().nullish(),
});
const QueueList = z.array(
  z.object({ queue_id: z.string(), queue_name: z.string(), consumers: z.array(z.object({ type: z.string() }).loose()).optional() }).loose(),
);
const QueuedMessage = z
  .object({
    id: z.string(),
    body: z.string(),
    attempts: z.number().default(0),
    timestamp_ms: z.number().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    lease_id: z.string().optional(),
  })
  .loose();
const Messages = z.object({ messages: z.array(QueuedMessage).default([]) }).loose();

/** The dead-letter queues wrangler.toml gives its consumers, each with the queue its messages came from. */
export function deadLetterQueues(config) {
  return config.queues.consumers
    .filter((consumer) => consumer.dead_letter_queue)
    .map((consumer) => ({ source: consumer.queue, deadLetters: consumer.dead_letter_queue }));
}

/**
 * A pulled or peeked message's body as the consumer first received it, or null when it cannot be read back. The
 * REST API gives a `json` message's body base64-encoded, and a `text` one as it is; our producers send `json`.
 */
export function decodedBody(message) {
  const type = message.metadata?.["CF-Content-Type"] ?? "json";
  if (type === "text") return { body: message.body, contentType: "text" };
  if (type !== "json") return null;
  for (const read of [() => Buffer.from(message.body, "base64").toString("utf8"), () => message.body]) {
    try {
      return { body: JSON.parse(read()), contentType: "json" };
    } catch {
      // Not this encoding: try the next.
    }
  }
  return null;
}

/** `items` in order, in pushes within a Queue batch's limits on messages and bytes (each message's metadata counted). */
export function pushBatches(items) {
  const sizes = items.map((item) => Buffer.byteLength(JSON.stringify(item.body)) + QUEUE_MESSAGE_METADATA_BYTES);
  return chunksBySize(items, sizes, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES);
}

/** Calls to the account's Queues API: each answers its result, or throws with Cloudflare's error messages. */
function queuesApi(env) {
  const call = async (method, path, body) => {
    const url = `${env.CLOUDFLARE_API_BASE_URL}/accounts/${env.CLOUDFLARE_ACCOUNT_ID}/queues${path}`;
    const response = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${env.CLOUDFLARE_API_TOKEN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((error) => {
      throw new Error(`cannot reach ${env.CLOUDFLARE_API_BASE_URL}: ${error.cause?.message ?? error.message}`);
    });
    const text = await response.text();
    let envelope;
    try {
      envelope = Envelope.parse(JSON.parse(text));
    } catch {
      throw new Error(`${method} ${path}: HTTP ${response.status}, ${text.slice(0, 200)}`);
    }
    if (!response.ok || !envelope.success) {
      const why = envelope.errors.map((error) => error.message).join("; ") || `HTTP ${response.status}`;
      throw new Error(`${method} ${path}: ${why}`);
    }
    return envelope;
  };
  return {
    async queues() {
      const queues = [];
      for (let page = 1; ; page += 1) {
        const { result, result_info } = await call("GET", `?page=${page}&per_page=100`);
        const listed = QueueList.parse(result ?? []);
        queues.push(...listed);
        if (listed.length === 0 || page >= (result_info?.total_pages ?? page)) return queues;
      }
    },
    peek: async (queueId, count) => Messages.parse((await call("POST", `/${queueId}/messages/peek`, { batch_size: count })).result).messages,
    pull: async (queueId, count) =>
      Messages.parse((await call("POST", `/${queueId}/messages/pull`, { batch_size: count, visibility_timeout_ms: LEASE_MS })).result).messages,
    push: (queueId, items) => call("POST", `/${queueId}/messages/batch`, { messages: items.map(({ body, contentType }) => ({ body, content_type: contentType })) }),
    ack: (queueId, acks, retries) =>
      call("POST", `/${queueId}/messages/ack`, { acks: acks.map((lease_id) => ({ lease_id })), retries: retries.map((lease_id) => ({ lease_id })) }),
  };
}

/** One line about a message: its id, attempts, age, and the start of its body. */
function describe(message, now) {
  const decoded = decodedBody(message);
  const age = message.timestamp_ms === undefined ? "?" : `${Math.round((now - message.timestamp_ms) / 60_000)} min`;
  const body = decoded === null ? `(a ${message.metadata?.["CF-Content-Type"]} body, not readable here)` : JSON.stringify(decoded.body);
  return `  ${message.id}  attempts ${message.attempts}  age ${age}  ${body.length > 160 ? `${body.slice(0, 160)}…` : body}`;
}

/** Peeks at up to `limit` messages of each dead-letter queue. */
async function list(api, pairs, ids, limit, out) {
  for (const { deadLetters } of pairs) {
    const messages = await api.peek(ids.get(deadLetters), Math.min(limit, QUEUE_BATCH_MESSAGES));
    out(`${deadLetters}: ${messages.length === 0 ? "empty" : `${messages.length} message(s) shown`}`);
    for (const message of messages) out(describe(message, Date.now()));
  }
}

/**
 * Moves up to `limit` messages of each dead-letter queue back to its source queue, a pulled batch at a time.
 * What cannot be read back is left in the dead-letter queue (marked for retry, so it is not held for the lease).
 * A failed push stops the run with its messages marked for retry: nothing is acknowledged that was not pushed.
 */
async function replay(api, pairs, ids, limit, out) {
  let failed = false;
  for (const { source, deadLetters } of pairs) {
    let moved = 0;
    let left = 0;
    const seen = new Set();
    while (moved + left < limit) {
      const batch = await api.pull(ids.get(deadLetters), Math.min(QUEUE_BATCH_MESSAGES, limit - moved - left));
      // What was left before comes round again: it is handed back at once, and the run ends when nothing else comes.
      const again = batch.filter((message) => seen.has(message.id)).map((message) => message.lease_id);
      const pulled = batch.filter((message) => !seen.has(message.id));
      if (pulled.length === 0) {
        if (again.length > 0) await api.ack(ids.get(deadLetters), [], again);
        break;
      }
      for (const message of pulled) seen.add(message.id);
      const readable = pulled.flatMap((message) => {
        const decoded = decodedBody(message);
        return decoded === null ? [] : [{ ...decoded, message }];
      });
      const unreadable = pulled.filter((message) => !readable.some((item) => item.message === message));
      for (const message of unreadable) out(`  left in ${deadLetters}: ${describe(message, Date.now()).trim()}`);
      let pushed = 0;
      try {
        for (const batch of pushBatches(readable)) {
          await api.push(ids.get(source), batch);
          pushed += batch.length;
        }
      } catch (error) {
        out(`${deadLetters}: pushing to ${source} failed (${error.message}); ${readable.length - pushed} message(s) stay in ${deadLetters}`);
        failed = true;
      }
      const acked = readable.slice(0, pushed).map((item) => item.message.lease_id);
      const retried = [...readable.slice(pushed).map((item) => item.message), ...unreadable].map((message) => message.lease_id).concat(again);
      await api.ack(ids.get(deadLetters), acked, retried);
      moved += pushed;
      left += unreadable.length;
      if (failed) break;
    }
    out(`${deadLetters}: ${moved} message(s) replayed to ${source}${left > 0 ? `, ${left} left where they are` : ""}`);
    if (failed) return false;
  }
  return true;
}

/** Runs the command `args` names; answers the exit code. */
export async function run(args, environment = process.env, out = console.log) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { limit: { type: "string", default: "10000" } } });
  const [command, which] = positionals;
  const usage = "usage: npm run dead-letters -- list|replay [events|webhooks] [--limit N]";
  if (command !== "list" && command !== "replay") {
    out(usage);
    return 2;
  }
  const pairs = deadLetterQueues(unstable_readConfig({ config: `${ROOT}/wrangler.toml` })).filter(
    ({ source }) => which === undefined || source === `socketpot-${which}`,
  );
  if (pairs.length === 0) {
    out(`no dead-letter queue for ${which} in wrangler.toml`);
    out(usage);
    return 2;
  }
  const env = Env.safeParse(environment);
  if (!env.success) {
    for (const issue of env.error.issues) out(issue.message);
    return 1;
  }
  const limit = z.coerce.number().int().positive().parse(values.limit);
  const api = queuesApi(env.data);
  const queues = await api.queues();
  const ids = new Map(queues.map((queue) => [queue.queue_name, queue.queue_id]));
  const missing = pairs.flatMap(({ source, deadLetters }) => [source, deadLetters]).filter((name) => !ids.has(name));
  if (missing.length > 0) {
    out(`the account has no queue named ${missing.join(", ")}: run \`npm run check-deploy\`, which says how to create them`);
    return 1;
  }
  if (command === "replay") {
    const unpulled = pairs.filter(({ deadLetters }) => {
      const consumers = queues.find((queue) => queue.queue_name === deadLetters)?.consumers;
      return consumers !== undefined && !consumers.some((consumer) => consumer.type === "http_pull");
    });
    for (const { deadLetters } of unpulled) out(`${deadLetters} has no HTTP pull consumer: run \`npx wrangler queues consumer http add ${deadLetters} --message-retries 100\` once`);
    if (unpulled.length > 0) return 1;
    return (await replay(api, pairs, ids, limit, out)) ? 0 : 1;
  }
  await list(api, pairs, ids, limit, out);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = await run(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
