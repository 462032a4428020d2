import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, pause, record, sentinel, until, type Joined } from "../support/clients.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";

/** Deposits and bets through the ingest endpoint, the real local Queue and the app's room, to real clients. */
let server: TestServer;
let ingestToken: string;
const opened: Joined[] = [];

beforeAll(async () => {
  ingestToken = await localSecret("INGEST_TOKEN");
  server = await startTestServer({ INGEST_TOKEN: ingestToken, BETS_PER_SECOND: "5" });
});

afterAll(async () => {
  for (const joined of opened) joined.socket.disconnect();
  await server?.stop();
});

async function open(uname: string | null, subscriptions: string[]): Promise<Joined> {
  const joined = await join(server.url, uname, subscriptions);
  opened.push(joined);
  return joined;
}

function publish(body: unknown, options: { token?: string | null; appId?: number } = {}): Promise<Response> {
  const token = options.token === undefined ? ingestToken : options.token;
  return fetch(`${server.url}/v1/apps/${options.appId ?? 1}/events`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token === null ? {} : { Authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const EVENTS = ["unconfirmed_balance_change", "balance_change", "confirmed_deposit_change", "new_bet"];

let sentinels = 0;

/**
 * Publishes a deposit of `balance` 0 for `authId` after everything published so far has been seen to arrive,
 * and waits until `recorded` (a client's record of it) holds it: the room sends each client its events in the
 * order it handled them, so whatever else was on its way to that client has arrived too.
 */
async function depositSentinel(authId: number, recorded: Record<string, unknown[]>): Promise<void> {
  const id = `sentinel-${sentinels++}-${Date.now()}`;
  expect((await publish({ id, type: "unconfirmed_balance_change", auth_id: authId, balance: 0, diff: 0 })).status).toBe(202);
  await until(() => recorded["unconfirmed_balance_change"]?.some((change) => (change as { balance: number }).balance === 0) ?? false);
}

/** Drops the sentinels' deposits (balance 0) from a record. */
const withoutSentinels = (recorded: Record<string, unknown[]>) =>
  Object.fromEntries(Object.entries(recorded).map(([event, payloads]) => [event, payloads.filter((payload) => (payload as { balance?: number }).balance !== 0)]));

describe("deposits", () => {
  it("reach every DEPOSITS tab of the user and nobody else", async () => {
    const aliceTab1 = await open("alice", ["DEPOSITS"]);
    const aliceTab2 = await open("alice", ["CHAT", "DEPOSITS"]);
    const aliceChatOnly = await open("alice", ["CHAT"]);
    const bob = await open("bob", ["DEPOSITS"]);
    const anonymous = await open(null, ["CHAT", "DEPOSITS"]);
    expect(anonymous.response["subscriptions"]).toEqual(["CHAT"]);
    const seen = [aliceTab1, aliceTab2, aliceChatOnly, bob, anonymous].map((joined) => record(joined.socket, ...EVENTS));

    const response = await publish([
      { id: "dep-1", type: "unconfirmed_balance_change", auth_id: 3, balance: 5000, diff: 5000 },
      { id: "dep-2", app_id: 1, type: "balance_change", auth_id: 3, balance: 5000, diff: 5000 },
    ]);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: ["dep-1", "dep-2"] });
    await until(() => seen.slice(0, 2).every((tab) => tab["confirmed_deposit_change"]!.length > 0));
    // Sentinels behind the deposits: alice's tabs and bob by a deposit of their own, the CHAT-only and anonymous
    // connections by a chat message. Once each has its sentinel, it has everything the room sent it before.
    await depositSentinel(3, seen[0]!);
    await until(() => seen[1]!["unconfirmed_balance_change"]!.length === 2);
    await depositSentinel(4, seen[3]!);
    const chatSentinel = await open("owner", ["CHAT"]);
    await sentinel(chatSentinel.socket, [aliceChatOnly.socket, anonymous.socket]);

    const expected = {
      unconfirmed_balance_change: [{ balance: 5000, diff: 5000 }],
      balance_change: [{ balance: 5000, diff: 5000 }],
      confirmed_deposit_change: [{ balance: 5000, diff: 5000 }],
      new_bet: [],
    };
    expect(withoutSentinels(seen[0]!)).toEqual(expected);
    expect(withoutSentinels(seen[1]!)).toEqual(expected);
    for (const other of seen.slice(2)) expect(Object.values(withoutSentinels(other)).flat()).toEqual([]);
  });

  it("delivers a replayed event id once", async () => {
    const alice = await open("alice", ["DEPOSITS"]);
    const seen = record(alice.socket, "unconfirmed_balance_change");
    const event = { id: "replayed-1", type: "unconfirmed_balance_change", auth_id: 3, balance: 1, diff: 1 };
    expect((await publish(event)).status).toBe(202);
    expect((await publish(event)).status).toBe(202);
    expect((await publish([event, event])).status).toBe(202);
    await depositSentinel(3, seen);
    expect(withoutSentinels(seen)["unconfirmed_balance_change"]).toEqual([{ balance: 1, diff: 1 }]);
  });
});

describe("bets", () => {
  it("reach BETS subscribers capped per second and ordered by interest under a flood", async () => {
    const watcher = await open(null, ["BETS"]);
    const arrivals: Array<{ at: number; bet: { id: number; wager: number; profit: number } }> = [];
    watcher.socket.on("new_bet", (bet: { id: number; wager: number; profit: number }) => arrivals.push({ at: Date.now(), bet }));
    const bets = Array.from({ length: 1_000 }, (_, i) => ({ id: i, uname: "bob", wager: (i * 37) % 1_000, profit: ((i * 7919) % 20_001) - 10_000 }));
    const started = Date.now();
    for (let chunk = 0; chunk < 10; chunk++) {
      const events = bets.slice(chunk * 100, chunk * 100 + 100).map((bet) => ({ id: `bet-${bet.id}`, type: "new_bet", bet }));
      expect((await publish(events)).status).toBe(202);
    }
    const seconds = (Date.now() - started) / 1_000;
    await pause(2_500);

    const windows = Math.ceil(seconds) + 2;
    expect(arrivals.length).toBeGreaterThan(0);
    expect(arrivals.length).toBeLessThanOrEqual(5 * windows);
    // Each window's bets arrive together, most interesting first.
    const groups: Array<typeof arrivals> = [];
    for (const arrival of arrivals) {
      const last = groups.at(-1);
      if (last && arrival.at - (last.at(-1)?.at ?? 0) < 300) last.push(arrival);
      else groups.push([arrival]);
    }
    for (const group of groups) {
      expect(group.length).toBeLessThanOrEqual(5);
      const interest = group.map(({ bet }) => Math.abs(bet.profit));
      expect(interest).toEqual([...interest].sort((a, b) => b - a));
    }
    const best = Math.max(...bets.map((bet) => Math.abs(bet.profit)));
    expect(Math.abs(arrivals[0]!.bet.profit)).toBe(best);
  });
});

describe("the ingest endpoint", () => {
  const event = { id: "ingest-1", type: "unconfirmed_balance_change", auth_id: 3, balance: 1, diff: 1 };

  it.each([
    ["no token", null],
    ["a wrong token", "not-the-token"],
    ["a token with a different length", `${"x".repeat(100)}`],
  ])("answers %s with 401 JSON", async (_, token) => {
    const response = await publish(event, { token });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "UNAUTHORIZED" });
  });

  it("answers a body over 1 MB with 413 JSON", async () => {
    const response = await publish(JSON.stringify({ ...event, padding: "x".repeat(1_100_000) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
  });

  it.each([
    ["not JSON", "{nope", "INVALID_JSON"],
    ["an unknown type", { ...event, type: "withdrawal" }, "INVALID_EVENTS"],
    ["a negative balance", { ...event, balance: -1 }, "INVALID_EVENTS"],
    ["a fractional diff", { ...event, diff: 0.5 }, "INVALID_EVENTS"],
    ["a bet without uname", { id: "b", type: "new_bet", bet: { id: 1, wager: 1, profit: 1 } }, "INVALID_EVENTS"],
    ["an empty array", [], "INVALID_EVENTS"],
    ["101 events", Array.from({ length: 101 }, (_, i) => ({ ...event, id: `many-${i}` })), "INVALID_EVENTS"],
    ["another app's event", { ...event, app_id: 2 }, "INVALID_EVENTS"],
  ])("answers %s with 400 and zod's issues", async (_, body, error) => {
    const response = await publish(body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: string; message: string };
    expect(json.error).toBe(error);
    expect(json.message.length).toBeGreaterThan(0);
  });

  it("answers an unknown app with 404 JSON", async () => {
    const response = await publish(event, { appId: 999 });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "UNKNOWN_APP" });
  });

  it("accepts 100 events", async () => {
    const response = await publish(Array.from({ length: 100 }, (_, i) => ({ ...event, id: `hundred-${i}` })));
    expect(response.status).toBe(202);
    expect(((await response.json()) as { accepted: string[] }).accepted).toHaveLength(100);
  });
});
