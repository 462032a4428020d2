// `npm run dead-letters -- list|replay [events|webhooks]`: what waits in the dead-letter queues wrangler.toml
// names, and putting it back on the queue it came from, where the consumer takes it again as it took it first.
// A replayed event reaches a socket once: the room skips an event id among the last EVENT_DEDUP_WINDOW it
// delivered. A replayed webhook delivery starts its attempts afresh; receivers tell repeats apart by the event's id.
//
// wrangler has no command that reads a queue's messages, so this speaks Cloudflare's Queues REST API, with
// CLOUDFLARE_API_TOKEN (an API token with Account → Queues → Edit) and CLOUDFLARE_ACCOUNT_ID, the variables
// wrangler itself reads; CLOUDFLARE_API_BASE_URL points it elsewhere (the tests' stand-in). `list` peeks, which
// leaves the messages where they are; `replay` pulls them, which needs the dead-letter queue to have an HTTP pull
// consumer (`npx wrangler queues consumer http add <dead-letter queue> --message-retries 100`), pushes them
// back, and acknowledges only what was pushed: a message is never in neither queue.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import * as z from "zod";
import { ROOT } from "./local-server.mjs";
// Plain TypeScript without imports, which Node 22 runs as it is: the Queue's limits and the batching the Worker uses.
import { chunksBySize } from "../src/chunks.ts";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_METADATA_BYTES } from "../src/limits.ts";

/**
 * How long pulled messages stay leased to this script. What it cannot read back keeps its lease until the run
 * ends, so that it is not pulled again (each pull counts an attempt, and a pull consumer deletes a message at its
 * `max_retries`); if the script dies, everything it held is back in the queue after this.
 */
const LEASE_MS = 15 * 60_000;
/** The fewest retries the dead-letter queue's pull consumer may allow: replays and crashes each spend one. */
const MIN_PULL_RETRIES = 100;
/** How long one call to the API may take. */
const CALL_TIMEOUT_MS = 30_000;

/** A variable that must be set, and what to set it to when it is not. */
const required = (what) => z.string({ error: what }).min(1, what);
const Env = z.object({
  CLOUDFLARE_API_TOKEN: required("set CLOUDFLARE_API_TOKEN to an API token with Account → Queues → Edit").regex(
    /^[\w-]+$/,
    "CLOUDFLARE_API_TOKEN has characters no API token has: copy it again",
  ),
  CLOUDFLARE_ACCOUNT_ID: required("set CLOUDFLARE_ACCOUNT_ID to the account's id (`npx wrangler whoami` shows it)"),
  CLOUDFLARE_API_BASE_URL: z.url().default("https://api.cloudflare.com/client/v4"),
});

/** Cloudflare's answer envelope around each call's result. */
const Envelope = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ message: z.string() }).loose()).default([]),
  result: z.unknown(),
});
const QueueList = z.array(
  z
    .object({
      queue_id: z.string(),
      queue_name: z.string(),
      consumers: z.array(z.object({ type: z.string(), settings: z.object({ max_retries: z.number().optional() }).loose().optional() }).loose()).optional(),
    })
    .loose(),
);
const QueuedMessage = z
  .object({
    id: z.string(),
    body: z.string(),
    attempts: z.number().default(0),
    timestamp_ms: z.number().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
const Peeked = z.object({ messages: z.array(QueuedMessage).default([]) }).loose();
const Pulled = z.object({ messages: z.array(QueuedMessage.extend({ lease_id: z.string() })).default([]) }).loose();
const Acked = z.object({ ackCount: z.number().optional(), retryCount: z.number().optional(), warnings: z.unknown().optional() }).loose();

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
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    }).catch((error) => {
      // Only the error's code or name: fetch's own messages can quote the request's headers.
      throw new Error(`cannot reach ${new URL(env.CLOUDFLARE_API_BASE_URL).origin}: ${error.cause?.code ?? error.name}`);
    });
    const text = await response.text();
    let envelope;
    try {
      envelope = Envelope.parse(JSON.parse(text));
    } catch {
      throw new Error(`${method} ${path}: HTTP ${response.status}, ${printable(text, 200)}`);
    }
    if (!response.ok || !envelope.success) {
      const why = printable(envelope.errors.map((error) => error.message).join("; "), 400) || `HTTP ${response.status}`;
      throw new Error(`${method} ${path}: ${why}`);
    }
    return envelope;
  };
  return {
    /** The queue named `name` (looked up by name, as wrangler does), or null. */
    async queue(name) {
      const { result } = await call("GET", `?name=${encodeURIComponent(name)}`);
      return QueueList.parse(result ?? []).find((queue) => queue.queue_name === name) ?? null;
    },
    peek: async (queueId, count) => Peeked.parse((await call("POST", `/${queueId}/messages/peek`, { batch_size: count })).result).messages,
    pull: async (queueId, count) =>
      Pulled.parse((await call("POST", `/${queueId}/messages/pull`, { batch_size: count, visibility_timeout_ms: LEASE_MS })).result).messages,
    push: (queueId, items) => call("POST", `/${queueId}/messages/batch`, { messages: items.map(({ body, contentType }) => ({ body, content_type: contentType })) }),
    /** Acknowledges `acks` and hands `retries` back; throws unless the API says it took every one. */
    async ack(queueId, acks, retries) {
      if (acks.length === 0 && retries.length === 0) return;
      const { result } = await call("POST", `/${queueId}/messages/ack`, { acks: acks.map((lease_id) => ({ lease_id })), retries: retries.map((lease_id) => ({ lease_id })) });
      const { ackCount, retryCount, warnings } = Acked.parse(result ?? {});
      if (ackCount !== acks.length || retryCount !== retries.length) {
        throw new Error(`the API took ${ackCount ?? "?"} of ${acks.length} acknowledgements and ${retryCount ?? "?"} of ${retries.length} retries (${printable(JSON.stringify(warnings ?? {}))})`);
      }
    },
  };
}

/**
 * `text` safe for a terminal, at most `max` characters: control and format characters (C1 controls, bidi
 * overrides, line separators), which JSON leaves as they are, are escaped, and no character is cut in two.
 */
export function printable(text, max = 160) {
  const characters = Array.from(text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (character) => `\\u${character.codePointAt(0).toString(16).padStart(4, "0")}`));
  return characters.length > max ? `${characters.slice(0, max).join("")}…` : characters.join("");
}

/** One line about a message: its id, attempts, age, and the start of its body. */
function describe(message, now) {
  const decoded = decodedBody(message);
  const age = message.timestamp_ms === undefined ? "?" : `${Math.round((now - message.timestamp_ms) / 60_000)} min`;
  const body = decoded === null ? `(a ${message.metadata?.["CF-Content-Type"]} body, not readable here)` : JSON.stringify(decoded.body);
  return `  ${printable(message.id, 64)}  attempts ${message.attempts}  age ${age}  ${printable(body)}`;
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
 * Moves up to `limit` messages of each dead-letter queue back to its source queue, a pulled batch at a time,
 * acknowledging each only once a push took it. What cannot be read back keeps its lease until the queue is done,
 * then is handed back, so that one run pulls each message once. A failed push, or an acknowledgement the API did
 * not take, stops the run; what it held goes back to the dead-letter queue, and what was pushed but not
 * acknowledged is pushed again by the next run (the room skips an event id it delivered recently).
 */
async function replay(api, pairs, ids, limit, out) {
  for (const { source, deadLetters } of pairs) {
    const queueId = ids.get(deadLetters);
    let moved = 0;
    const kept = [];
    let problem = null;
    while (problem === null && moved + kept.length < limit) {
      const pulled = await api.pull(queueId, Math.min(QUEUE_BATCH_MESSAGES, limit - moved - kept.length));
      if (pulled.length === 0) break;
      const readable = [];
      for (const message of pulled) {
        const decoded = decodedBody(message);
        if (decoded === null) {
          kept.push(message);
          out(`  left in ${deadLetters}: ${describe(message, Date.now()).trim()}`);
        } else readable.push({ ...decoded, message });
      }
      let pushed = 0;
      try {
        for (const batch of pushBatches(readable)) {
          await api.push(ids.get(source), batch);
          pushed += batch.length;
        }
      } catch (error) {
        problem = `pushing to ${source} failed (${error.message})`;
      }
      const lease = (item) => item.message.lease_id;
      try {
        await api.ack(queueId, readable.slice(0, pushed).map(lease), readable.slice(pushed).map(lease));
      } catch (error) {
        problem ??= `${pushed} message(s) were pushed to ${source} but not acknowledged (${error.message}); the next replay sends them again`;
      }
      moved += pushed;
    }
    try {
      await api.ack(queueId, [], kept.map((message) => message.lease_id));
    } catch (error) {
      problem ??= `handing back what was left failed (${error.message}); it is back in ${deadLetters} within ${LEASE_MS / 60_000} minutes`;
    }
    out(`${deadLetters}: ${moved} message(s) replayed to ${source}${kept.length > 0 ? `, ${kept.length} left where they are` : ""}`);
    if (problem !== null) {
      out(`${deadLetters}: stopped: ${problem}; the rest stays in ${deadLetters}`);
      return false;
    }
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
  const pairs = deadLetterQueues(unstable_readConfig({ config: join(ROOT, "wrangler.toml") })).filter(
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
  const limit = z.coerce.number().int().positive().safeParse(values.limit);
  if (!limit.success) {
    out("--limit must be a positive whole number");
    return 2;
  }
  const api = queuesApi(env.data);
  const names = pairs.flatMap(({ source, deadLetters }) => [source, deadLetters]);
  const queues = new Map();
  for (const name of names) queues.set(name, await api.queue(name));
  const missing = names.filter((name) => queues.get(name) === null);
  if (missing.length > 0) {
    out(`the account has no queue named ${missing.join(", ")}: run \`npm run check-deploy\`, which says how to create them`);
    return 1;
  }
  const ids = new Map([...queues].map(([name, queue]) => [name, queue.queue_id]));
  if (command === "replay") {
    let ready = true;
    for (const { deadLetters } of pairs) {
      const consumers = queues.get(deadLetters).consumers;
      const pull = consumers?.find((consumer) => consumer.type === "http_pull");
      const add = `npx wrangler queues consumer http add ${deadLetters} --message-retries ${MIN_PULL_RETRIES}`;
      if (consumers !== undefined && pull === undefined) {
        out(`${deadLetters} has no HTTP pull consumer: run \`${add}\` once`);
        ready = false;
      } else if ((pull?.settings?.max_retries ?? MIN_PULL_RETRIES) < MIN_PULL_RETRIES) {
        out(
          `${deadLetters}'s pull consumer deletes a message after ${pull.settings.max_retries} retries, and every replay spends one: run \`npx wrangler queues consumer http remove ${deadLetters}\`, then \`${add}\``,
        );
        ready = false;
      }
    }
    if (!ready) return 1;
    return (await replay(api, pairs, ids, limit.data, out)) ? 0 : 1;
  }
  await list(api, pairs, ids, limit.data, out);
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
