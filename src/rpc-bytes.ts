import { RPC_SERIALIZED_BYTES } from "./limits.js";

/**
 * What the calls of one batch between objects may take, and separately their answers: half of what one RPC
 * carries, since {@link serializedBytesBound} is a bound, not a measure, and the batch's envelope adds a little.
 */
export const BATCH_BYTES = RPC_SERIALIZED_BYTES / 2;

/** A string's tag and length prefix, and the padding byte a two-byte string may take. */
const STRING_OVERHEAD = 7;
/** An object's or array's tags and counts. */
const CONTAINER_OVERHEAD = 12;
/** A number (a double, its widest form), a reference to an object already written, or a small constant. */
const SCALAR_BYTES = 9;

/**
 * An upper bound on the bytes `value` takes in V8's structured serialization, the form in which RPC carries it
 * between Workers and Durable Objects: every string as if two bytes a code unit, every number as a double. It
 * walks the value without recursion, so a deeply nested hostile payload cannot overflow the stack; an object
 * met twice is written once (then referred to), as V8 does.
 */
export function serializedBytesBound(value: unknown): number {
  let bytes = 3; // the format's version header
  const seen = new Set<object>();
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === "string") bytes += 2 * item.length + STRING_OVERHEAD;
    else if (typeof item === "bigint") bytes += Math.ceil(item.toString(16).length / 2) + SCALAR_BYTES;
    else if (typeof item !== "object" || item === null) bytes += SCALAR_BYTES;
    else if (seen.has(item)) bytes += SCALAR_BYTES;
    else {
      seen.add(item);
      bytes += CONTAINER_OVERHEAD;
      // A view carries its whole buffer, not only the part it shows.
      if (ArrayBuffer.isView(item)) bytes += item.buffer.byteLength + CONTAINER_OVERHEAD;
      else if (item instanceof ArrayBuffer) bytes += item.byteLength;
      else if (Array.isArray(item)) for (const element of item) pending.push(element);
      else {
        for (const key of Object.keys(item)) {
          bytes += 2 * key.length + STRING_OVERHEAD;
          pending.push((item as Record<string, unknown>)[key]);
        }
      }
    }
  }
  return bytes;
}
