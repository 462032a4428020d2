/**
 * Values read from storage and kept in the isolate for `ttlMs`, at most `size` of them (the oldest read goes
 * first). Concurrent first reads of a key share one read; a failed read is not kept.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: Promise<V>; readAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly size: number,
  ) {}

  get(key: K, read: () => Promise<V>, now = Date.now()): Promise<V> {
    const cached = this.entries.get(key);
    if (cached && now - cached.readAt < this.ttlMs) return cached.value;
    const value = read();
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    this.set(key, value, now);
    return value;
  }

  /** Forgets what is kept for `key`: the next get reads it again. */
  delete(key: K): void {
    this.entries.delete(key);
  }

  private set(key: K, value: Promise<V>, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, readAt: now });
    // Insertion order is age order: past the bound, the oldest read goes first.
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
  }
}
