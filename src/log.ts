/** One JSON line per event, for Workers Logs and `wrangler tail`. Callers never pass tokens. */
export function log(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, ...fields }));
}
