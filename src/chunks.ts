const encoder = new TextEncoder();

/** The bytes `text` takes as UTF-8. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * `items` split, in order, into runs of at most `maxItems` whose sizes (`sizes[i]` for `items[i]`) add up to at
 * most `maxBytes` each; an item larger than `maxBytes` on its own is a run of its own.
 */
export function chunksBySize<T>(items: T[], sizes: number[], maxBytes: number, maxItems = Infinity): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const [index, item] of items.entries()) {
    const size = sizes[index]!;
    if (chunk.length > 0 && (chunk.length === maxItems || bytes + size > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
