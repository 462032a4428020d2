/** Times are kept as epoch milliseconds and shown (admin API, webhook events) as ISO-8601; null stays null. */
export function isoDate(ms: number): string;
export function isoDate(ms: number | null): string | null;
export function isoDate(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
