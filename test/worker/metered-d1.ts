/**
 * The real database behind a recorder of what each query read and bound: D1 reports a query's `rows_read` in its `meta`
 * and bills them, and a lookup that should use an index reads a handful where a scan reads every row.
 */
export function meteredD1(db: D1Database): { db: D1Database; reads: number[]; bound: number[] } {
  const reads: number[] = [];
  /** The parameters each query bound: D1 takes at most 100 a query, which local D1 does not enforce. */
  const bound: number[] = [];
  const statement = (query: string, values: unknown[]) => {
    const all = async () => {
      const result = await db.prepare(query).bind(...values).all();
      reads.push(result.meta.rows_read);
      bound.push(values.length);
      return result;
    };
    return {
      bind: (...bound: unknown[]) => statement(query, bound),
      all,
      run: all,
      first: async () => (await all()).results[0] ?? null,
    };
  };
  return { db: { prepare: (query: string) => statement(query, []) } as unknown as D1Database, reads, bound };
}
