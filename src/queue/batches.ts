import { chunksBySize, utf8Bytes } from "../chunks.js";
import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_BYTES, QUEUE_MESSAGE_METADATA_BYTES } from "../limits.js";

/** The bytes a JSON message takes on the Queue: its JSON, and room for the queue's own metadata. */
export function queueMessageBytes(body: unknown): number {
  return utf8Bytes(JSON.stringify(body)) + QUEUE_MESSAGE_METADATA_BYTES;
}

/**
 * Messages split, in order, into `sendBatch` calls that each stay within the Queue's limits on messages and
 * bytes; or the first message too large to be a Queue message at all (nothing is to be sent then).
 */
export function queueBatches<T>(bodies: T[]): { batches: T[][] } | { tooLarge: { index: number; bytes: number } } {
  const sizes = bodies.map(queueMessageBytes);
  const index = sizes.findIndex((bytes) => bytes > QUEUE_MESSAGE_BYTES);
  if (index >= 0) return { tooLarge: { index, bytes: sizes[index]! } };
  return { batches: chunksBySize(bodies, sizes, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES) };
}
