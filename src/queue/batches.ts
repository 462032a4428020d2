import { QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES, QUEUE_MESSAGE_BYTES, QUEUE_MESSAGE_METADATA_BYTES } from "../limits.js";

const encoder = new TextEncoder();

/** The bytes a JSON message takes on the Queue: its JSON, and room for the queue's own metadata. */
export function queueMessageBytes(body: unknown): number {
  return encoder.encode(JSON.stringify(body)).byteLength + QUEUE_MESSAGE_METADATA_BYTES;
}

/**
 * Messages split, in order, into `sendBatch` calls that each stay within the Queue's limits on messages and
 * bytes; or the first message too large to be a Queue message at all (nothing is to be sent then).
 */
export function queueBatches<T>(bodies: T[]): { batches: T[][] } | { tooLarge: { index: number; bytes: number } } {
  const batches: T[][] = [];
  let batch: T[] = [];
  let batchBytes = 0;
  for (const [index, body] of bodies.entries()) {
    const bytes = queueMessageBytes(body);
    if (bytes > QUEUE_MESSAGE_BYTES) return { tooLarge: { index, bytes } };
    if (batch.length === QUEUE_BATCH_MESSAGES || batchBytes + bytes > QUEUE_BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push(body);
    batchBytes += bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return { batches };
}
