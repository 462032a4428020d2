import { describe, expect, it } from "vitest";
import { Gateway } from "../../src/shard/gateway.js";
import type { FeedItem } from "../../src/socketpot/feed.js";
import type { Ordering } from "../../src/socketpot/ordering.js";
import type { Outcome } from "../../src/socketpot/room.js";
import { MemoryApp, MemoryHost, MemoryStore, USERS, memoryRoom, tokenOf, type RecordingClient } from "../support/memory-room.js";

const auth = (authId: number | null) => ({ app_id: 1, subscriptions: ["CHAT"], ...(authId === null ? {} : { access_token: tokenOf(authId) }) });
/**
 * A request through a shard's gateway: its outcome, and how many events the client had received when the
 * gateway gave the outcome to be sent (where the client reads its answer among its events).
 */
async function ask(gateway: Gateway, client: RecordingClient, event: string, payload: unknown): Promise<Outcome<unknown> & { eventsBefore: number }> {
  let answer: (Outcome<unknown> & { eventsBefore: number }) | undefined;
  await gateway.request(client, event, payload, (outcome) => (answer = { ...outcome, eventsBefore: client.received.length }));
  return answer!;
}

const ids = (received: Array<{ event: string; payload: unknown }>) =>
  received.filter((entry) => entry.event === "new_message").map((entry) => (entry.payload as { id: number }).id);

/**
 * A connection shard whose grant (the answer to its client's auth) and feed travel separately, as over RPC:
 * the test decides which arrives first.
 */
function heldShard() {
  const store = new MemoryStore();
  for (const user of Object.values(USERS)) store.addToken(tokenOf(user.auth_id), 1, user);
  const host = new MemoryHost();
  const app = new MemoryApp(store, host);
  const held: FeedItem[][] = [];
  const answers: Array<() => void> = [];
  // The shard's view of its room: every answer waits until the test lets it through.
  const ordering: Ordering = {
    countConnections: (shard, report) => app.core.countConnections(shard, report),
    request: async (client, event, payload) => {
      const outcome = await app.core.request(client, event, payload);
      await new Promise<void>((resolve) => answers.push(resolve));
      return outcome;
    },
    recover: (client, pid, offset) => app.core.recover(client, pid, offset),
    leave: (client, reason) => app.core.leave(client, reason),
  };
  const gateway = new Gateway(() => ordering, () => host.clients(1), { authTimeoutMs: 30_000, now: host.now });
  // The room's feed for shard 1 is held too, until the test delivers it.
  (app as unknown as { deliver: (shard: number, items: FeedItem[]) => Promise<string> }).deliver = async (_, items) => {
    held.push(items);
    return "first";
  };
  const flushFeed = () => {
    for (const items of held.splice(0)) gateway.receive(items);
  };
  const answer = async () => {
    while (answers.length === 0) await macrotask();
    answers.shift()!();
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
  };
  return { app, host, gateway, flushFeed, answer };
}

/** Waits a turn of the event loop: a token's digest (WebCrypto) settles there, not among the microtasks. */
const macrotask = () => new Promise((resolve) => setImmediate(resolve));

describe("a session on a connection shard", () => {
  it.each([
    ["the broadcasts arrive before the grant", true],
    ["the grant arrives first (and waits for them)", false],
  ])("gets every message after its history exactly once when %s", async (_, feedFirst) => {
    const { app, host, gateway, flushFeed, answer } = heldShard();
    const sender = host.connect("sender");
    await app.auth(sender, auth(1));
    // A listener already on shard 1, so that the feed there carries every message, "before" included.
    const listener = host.connect("listener", 1);
    const listening = ask(gateway, listener, "auth", auth(null));
    await answer();
    flushFeed();
    await listening;
    await app.newMessage(sender, { text: "before" });

    const client = host.connect("late", 1);
    const granted = ask(gateway, client, "auth", auth(3));
    // The room has granted the session (its history read) before these are stored.
    while (!app.chat.directory.session("late")) await macrotask();
    for (const text of ["after 1", "after 2"]) await app.newMessage(sender, { text });
    if (feedFirst) flushFeed();
    await answer();
    flushFeed();
    const outcome = await granted;
    await app.newMessage(sender, { text: "after the answer" });
    flushFeed();

    expect(outcome.ok).toBe(true);
    const history = (outcome as { value: { chat: { messages: Array<{ id: number }> } } }).value.chat.messages.map((message) => message.id);
    expect(history).toEqual([1]);
    expect(ids(client.received)).toEqual([2, 3, 4]);
    // Its answer (with the history) first, then what came since, though that reached the shard before the answer.
    expect(outcome.eventsBefore).toBe(0);
    expect(ids(listener.received)).toEqual([1, 2, 3, 4]);
  });

  it("answers a sender only after its own message reached its shard", async () => {
    const { host, gateway, flushFeed, answer } = heldShard();
    const sender = host.connect("sender", 1);
    const authed = ask(gateway, sender, "auth", auth(3));
    await answer();
    flushFeed();
    await authed;
    let answered = false;
    const sent = ask(gateway, sender, "new_message", { text: "mine" }).then(() => (answered = true));
    await answer();
    expect(answered).toBe(false);
    flushFeed();
    await sent;
    expect(ids(sender.received)).toEqual([1]);
  });
});

describe("a shard's feed", () => {
  it("passes over broadcasts it already has, when the room sends a batch again", async () => {
    const { room, host } = memoryRoom();
    const sender = host.connect("sender");
    await room.auth(sender, auth(1));
    const listener = host.connect("listener", 2);
    await room.auth(listener, auth(null));
    const recorded: FeedItem[] = [];
    const gateway = room.gateway(2);
    const receive = gateway.receive.bind(gateway);
    gateway.receive = (items) => {
      recorded.push(...items);
      return receive(items);
    };
    for (const text of ["one", "two"]) await room.newMessage(sender, { text });
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
    // The same batch again, as a retry after a lost answer would bring it, then the next message.
    gateway.receive(recorded.slice());
    await room.newMessage(sender, { text: "three" });
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
    expect(ids(listener.received)).toEqual([1, 2, 3]);
  });
});

describe("an ordering room", () => {
  it("lets the sessions of a restarted shard go, announcing who left, and counts its connections anew", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("watcher");
    await room.auth(watcher, auth(null));
    const survivor = host.connect("survivor", 2);
    const lost = host.connect("lost", 2);
    await room.auth(survivor, auth(4));
    await room.auth(lost, auth(3));
    expect(Object.keys(room.chat.directory.userlist()).sort()).toEqual(["alice", "bob"]);

    // Shard 2 restarts: one of its connections is gone without a word, and its next answer names a new activation.
    lost.open = false;
    room.activations.set(2, "second");
    expect((await room.newMessage(survivor, { text: "anyone there?" })).ok).toBe(true);
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();

    expect(watcher.events("user_left")).toEqual([{ uname: "alice" }]);
    expect(Object.keys(room.chat.directory.userlist())).toEqual(["bob"]);
    expect(survivor.session).not.toBeNull();
  });

  it("keeps a session granted while a restarted shard's snapshot was on its way", async () => {
    const { room, host } = memoryRoom();
    const watcher = host.connect("watcher");
    await room.auth(watcher, auth(null));
    const tab1 = host.connect("tab1", 2);
    await room.auth(tab1, auth(3));

    // Shard 2 has a new activation: the room asks for its snapshot, which is taken now and arrives later.
    let arrive = () => {};
    room.snapshotsHeld = new Promise((resolve) => (arrive = resolve));
    room.activations.set(2, "second");
    expect((await room.newMessage(tab1, { text: "ping" })).ok).toBe(true);
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
    // Meanwhile alice opens a second tab on that shard, which the snapshot cannot have.
    const tab2 = host.connect("tab2", 2);
    await room.auth(tab2, auth(3));
    arrive();
    room.snapshotsHeld = null;
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();

    // Her first tab leaves: her second keeps her present.
    tab1.open = false;
    room.leave(tab1, "transport close");
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
    expect(watcher.events("user_left")).toEqual([]);
    expect(Object.keys(room.chat.directory.userlist())).toEqual(["alice"]);
  });
});
