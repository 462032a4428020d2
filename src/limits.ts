/**
 * Cloudflare's platform limits that the product works within, each with the page that documents it. Local
 * workerd enforces few of them (Miniflare takes 288 KB per `sendBatch`), so code sizes its work by these, and
 * docs/limits.md says where each is respected and which test holds it at the boundary. (1 KB is 1,000 bytes
 * on these pages.)
 */

/**
 * The largest Queue message, its metadata (up to about 100 bytes) included.
 * https://developers.cloudflare.com/queues/platform/limits/
 */
export const QUEUE_MESSAGE_BYTES = 128_000;

/** What of a Queue message's size its metadata may take (same page). */
export const QUEUE_MESSAGE_METADATA_BYTES = 100;

/**
 * The most messages, and bytes in all, one `sendBatch` call takes ("100 (or 256KB in total)").
 * https://developers.cloudflare.com/queues/platform/limits/
 */
export const QUEUE_BATCH_MESSAGES = 100;
export const QUEUE_BATCH_BYTES = 256_000;

/**
 * What Workers Logs keeps of one invocation's logs.
 * https://developers.cloudflare.com/workers/observability/logs/workers-logs/#limits
 */
export const LOG_BYTES_PER_INVOCATION = 256_000;

/**
 * The largest string, BLOB or row a Durable Object's SQLite storage takes.
 * https://developers.cloudflare.com/durable-objects/platform/limits/
 */
export const DO_SQL_VALUE_BYTES = 2_000_000;

/**
 * D1 queries one Worker invocation may make on Workers Paid (the D1 page's figure, the lower of the two
 * Cloudflare documents; the Workers page allows 10,000 subrequests; Workers Free allows 50). Calls to Durable
 * Objects are subrequests too.
 * https://developers.cloudflare.com/d1/platform/limits/
 */
export const D1_QUERIES_PER_INVOCATION = 1_000;

/** Bound parameters one D1 query takes at most. https://developers.cloudflare.com/d1/platform/limits/ */
export const D1_BOUND_PARAMETERS = 100;

/**
 * The one D1 database every app shares, at most 10 GB on Workers Paid (not raisable; 500 MB on Workers Free);
 * when it is full, every write of every app fails. https://developers.cloudflare.com/d1/platform/limits/
 */
export const D1_DATABASE_BYTES = 10_000_000_000;

/**
 * The most hibernatable WebSockets one Durable Object accepts.
 * https://developers.cloudflare.com/durable-objects/api/state/#acceptwebsocket
 */
export const DO_WEBSOCKETS_PER_OBJECT = 32_768;

/**
 * The most one RPC call between Workers and Durable Objects carries, its arguments and its return value each, in
 * V8's structured serialization ("The maximum serialized RPC limit is 32 MiB").
 * https://developers.cloudflare.com/workers/runtime-apis/rpc/#limitations
 */
export const RPC_SERIALIZED_BYTES = 32 * 1024 * 1024;

/**
 * The static assets one Worker version uploads: at most 100,000 files on Workers Paid (20,000 on Workers Free),
 * each at most 25 MiB. https://developers.cloudflare.com/workers/platform/limits/
 */
export const STATIC_ASSET_FILES = 100_000;
export const STATIC_ASSET_FILE_BYTES = 25 * 1024 * 1024;
