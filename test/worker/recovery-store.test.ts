import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AppRoom } from "../../src/ordering/app-room.js";
import { DO_SQL_VALUE_BYTES } from "../../src/limits.js";
import { RECOVERED_BYTES } from "../../src/socketpot/answer-bounds.js";
import { serializedBytesBound } from "../../src/rpc-bytes.js";
import { SqlRecoveryStore } from "../../src/ordering/session-recovery.js";

const alice = { user: { uname: "alice", auth_id: 3, role: "MEMBER" as const }, subscriptions: ["CHAT" as const, "DEPOSITS" as const] };

/** Runs `test` with the SQLite storage of a Durable Object of its own. */
async function inScratchRoom(name: string, test: (sql: SqlStorage) => void): Promise<void> {
  await runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(name)), (_instance: AppRoom, state) => test(state.storage.sql));
}

describe("the recovery store, in a Durable Object's SQLite", () => {
  it("hands a session back once, with the broadcasts after its offset that it was in the audience of", async () => {
    await inScratchRoom("recovery-audience", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 100 });
      store.save("pid-a", "sid-a", "conn-a", alice);
      const seen = store.record({ feed: "CHAT" }, "new_message", { id: 1 }, null);
      expect(store.latest()).toBe(seen);
      store.detach("pid-a", "conn-a");
      const missed = store.record({ feed: "CHAT" }, "new_message", { id: 2 }, null);
      store.record({ feed: "BETS" }, "new_bet", { id: "bet" }, null);
      store.record({ feed: "DEPOSITS", authId: 4 }, "balance_change", { balance: 1 }, null);
      const own = store.record({ feed: "DEPOSITS", authId: 3 }, "balance_change", { balance: 2 }, null);
      store.record({ feed: "CHAT" }, "user_joined", alice.user, "conn-a");
      expect(Number(missed)).toBeGreaterThan(Number(seen));

      const restored = store.take("pid-a", seen);
      expect(restored).toEqual({
        sid: "sid-a",
        session: alice,
        missed: [
          { offset: missed, event: "new_message", payload: { id: 2 } },
          { offset: own, event: "balance_change", payload: { balance: 2 } },
        ],
      });
      expect(store.take("pid-a", seen)).toBeNull();
    });
  });

  it("refuses a recovery the log no longer reaches back to, or an offset it never gave", async () => {
    await inScratchRoom("recovery-bounds", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 5 });
      const first = store.record({ feed: "CHAT" }, "new_message", { id: 0 }, null);
      store.save("old", "s1", "c1", alice);
      store.save("recent", "s2", "c2", alice);
      store.save("future", "s3", "c3", alice);
      let last = first;
      for (let i = 1; i <= 20; i++) last = store.record({ feed: "CHAT" }, "new_message", { id: i }, null);
      expect(store.take("old", first)).toBeNull();
      expect(store.take("future", String(Number(last) + 1))).toBeNull();
      expect(store.take("recent", String(Number(last) - 2))?.missed).toHaveLength(2);
    });
  });

  it("refuses a recovery whose missed broadcasts would take more than RECOVERED_BYTES in one answer, and takes one just within", async () => {
    await inScratchRoom("recovery-bytes", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 10_000 });
      const start = store.record({ feed: "CHAT" }, "new_message", { id: 0 }, null);
      store.save("within", "s1", "c1", alice);
      store.save("beyond", "s2", "c2", alice);
      // Broadcasts of 100,000 characters each: 5 of them are about 1.0 MB at the bound's count, just within it.
      const large = { id: 1, text: "x".repeat(100_000) };
      for (let i = 0; i < 5; i++) store.record({ feed: "CHAT" }, "new_message", large, null);
      const within = store.take("within", start);
      expect(within?.missed).toHaveLength(5);
      expect(within!.missed.reduce((bytes, item) => bytes + serializedBytesBound(item), 0)).toBeLessThanOrEqual(RECOVERED_BYTES);
      store.record({ feed: "CHAT" }, "new_message", large, null);
      expect(store.take("beyond", start)).toBeNull();
    });
  });

  it("keeps a live session untouched by its stale predecessor, and gives sessions orphaned by a restart a window", async () => {
    await inScratchRoom("recovery-orphans", (sql) => {
      const before = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 100 });
      before.save("pid-live", "sid", "new-conn", alice);
      before.forget("pid-live", "old-conn");
      before.detach("pid-live", "old-conn");
      before.save("pid-orphan", "sid", "gone-conn", alice);
      before.flush();
      const expiry = (pid: string) => sql.exec("SELECT expires_at FROM recovery_sessions WHERE pid = ?", pid).one()["expires_at"];
      expect(expiry("pid-live")).toBeNull();

      new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 100 }).detachGone(["new-conn"]);
      expect(expiry("pid-live")).toBeNull();
      expect(expiry("pid-orphan")).toBeGreaterThan(Date.now());
    });
  });

  it("peeks at a saved session without taking it, and prunes on its schedule (on indexes), not at every claim", async () => {
    await inScratchRoom("recovery-claims", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 100 });
      store.save("pid", "sid", "conn", { ...alice, tokenDigest: "d".repeat(64) });
      expect(store.peek("pid")).toEqual({ ...alice, tokenDigest: "d".repeat(64) });
      store.flush();
      expect(store.peek("pid")).toEqual({ ...alice, tokenDigest: "d".repeat(64) });
      expect(store.peek("made-up")).toBeNull();

      const statements: string[] = [];
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => (statements.push(query), exec(query, ...bindings))) as typeof sql.exec;
      try {
        for (let i = 0; i < 100; i++) expect(store.take(`made-up-${i}`, null)).toBeNull();
      } finally {
        sql.exec = exec;
      }
      expect(statements.filter((query) => query.startsWith("DELETE FROM recovery_sessions WHERE expires_at")).length).toBeLessThanOrEqual(1);
      const plan = (query: string) => exec(`EXPLAIN QUERY PLAN ${query}`, Date.now()).toArray().map((row) => String(row["detail"]));
      expect(plan("DELETE FROM recovery_sessions WHERE expires_at <= ?").join()).toMatch(/USING (COVERING )?INDEX recovery_sessions_by_expiry/);
      expect(store.take("pid", null)).toMatchObject({ sid: "sid", session: { tokenDigest: "d".repeat(64) } });
    });
  });

  it("writes a storm of 20,000 sessions saved within one second, each bound string within the storage's 2 MB", async () => {
    await inScratchRoom("recovery-storm", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 60_000, maxEvents: 100 });
      const session = { ...alice, tokenDigest: "d".repeat(64) };
      for (let i = 0; i < 20_000; i++) store.save(`pid-${i}`, `sid-${i}`, `conn-${i}`, session);
      const bound: number[] = [];
      const exec = sql.exec.bind(sql);
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        for (const value of bindings) if (typeof value === "string") bound.push(new TextEncoder().encode(value).byteLength);
        return exec(query, ...bindings);
      }) as typeof sql.exec;
      try {
        store.flush();
      } finally {
        sql.exec = exec;
      }
      // All of it is over 4 MB as one string; written in chunks, each is at most half the limit.
      expect(bound.reduce((sum, bytes) => sum + bytes, 0)).toBeGreaterThan(DO_SQL_VALUE_BYTES * 2);
      expect(Math.max(...bound)).toBeLessThanOrEqual(DO_SQL_VALUE_BYTES / 2);
      expect(sql.exec("SELECT count(*) AS n FROM recovery_sessions").one()["n"]).toBe(20_000);
      expect(store.take("pid-19999", null)).toMatchObject({ sid: "sid-19999", session });
    });
  });

  it("lets a dropped session expire after the window", async () => {
    await inScratchRoom("recovery-expiry", (sql) => {
      const store = new SqlRecoveryStore(sql, { windowMs: 1, maxEvents: 100 });
      store.save("pid", "sid", "conn", alice);
      store.detach("pid", "conn");
      const until = Date.now() + 5;
      while (Date.now() < until);
      expect(store.take("pid", null)).toBeNull();
    });
  });
});
