/**
 * Reads a request body to its end, keeping at most `limit` bytes; null when it was larger. The body is always
 * read whole (dropped chunk by chunk past the limit), because answering before an upload finished breaks the
 * client's connection for its next request.
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body && !request.bodyUsed) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size <= limit) chunks.push(chunk);
    }
  }
  if (size > limit) return null;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Reads and drops whatever of the body is left, so that an early answer does not break the connection. GET
 * and HEAD carry none (every connect is a GET), so they skip it.
 */
export async function discardBody(request: Request): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") await readBody(request, 0);
}
