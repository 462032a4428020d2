import { SELF, env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { accessTokenDigest } from "../../src/credentials.js";
import { shardName, shardOfSession } from "../../src/shards.js";
import { ROOM_BATCHES_PER_SECOND } from "../../src/ordering/batch-pacing.js";
import { ORDERING_VERSION, SERVED_ORDERING_VERSIONS, type OrderingBatchAnswer } from "../../src/socketpot/ordering.js";
import { openSocket, token, appRoom } from "./room-socket.js";

/** An app on two connection shards, inside workerd: the room's faults and hibernation as the shards see them. */
const APP = 61;
/** An app on two shards whose room a test stalls before any shard has counted a connection. */
const STALLED_APP = 62;
const shardStub = (shard: number) => env.SHARDS.get(env.SHARDS.idFromName(shardName(APP, shard)));

beforeAll(async () => {
  await env.DB.prepare("INSERT INTO apps (id, name, allowed_origins, created_at, shards) VALUES (?1, 'Sharded', '[]', 0, 2), (?2, 'Stalled', '[]', 0, 2)")
    .bind(APP, STALLED_APP)
    .run();
  await env.DB.prepare(
    `INSERT INTO access_tokens (digest, prefix, app_id, auth_id, uname, role, created_at)
     VALUES (?1, '', ?3, 3, 'alice', 'MEMBER', 0), (?2, '', ?3, 4, 'bob', 'MEMBER', 0)`,
  )
    .bind(await accessTokenDigest(token(13)), await accessTokenDigest(token(14)), APP)
    .run();
});

describe("connection shards", () => {
  it("answer INTERNAL_ERROR when their app's room does not answer, and serve again once it does", async () => {
    const alice = await openSocket(APP);
    expect(shardOfSession(alice.sid)).toBeGreaterThanOrEqual(1);
    expect((await alice.request(1, "auth", { app_id: APP, access_token: token(13), subscriptions: ["CHAT"] }))[0]).toBeNull();
    const release = await runInDurableObject(appRoom(APP), (room) => room.stallForTests());
    try {
      expect(await alice.request(2, "new_message", { text: "nobody home" })).toEqual(["INTERNAL_ERROR"]);
    } finally {
      await runInDurableObject(appRoom(APP), () => release());
    }
    expect((await alice.request(3, "new_message", { text: "back again" }))[0]).toBeNull();
    await alice.close();
  });

  it("refuse a new connection with 503 when the room does not count it in time (before a shard's first count)", async () => {
    const release = await runInDurableObject(appRoom(STALLED_APP), (room) => room.stallForTests());
    try {
      const polling = await SELF.fetch(`http://edge.test/socket.io/?EIO=4&transport=polling&app_id=${STALLED_APP}`);
      expect(polling.status).toBe(503);
      expect(await polling.json()).toEqual({ code: 3, message: "the app's room did not answer; try again" });
      const plain = await SELF.fetch(`http://edge.test/v1/apps/${STALLED_APP}/ws`, { headers: { Upgrade: "websocket" } });
      expect(plain.status).toBe(503);
      expect(await plain.json()).toEqual({ error: "UNAVAILABLE", message: "the app's room did not answer; try again" });
    } finally {
      await runInDurableObject(appRoom(STALLED_APP), () => release());
    }
    const served = await SELF.fetch(`http://edge.test/socket.io/?EIO=4&transport=polling&app_id=${STALLED_APP}`);
    expect(served.status).toBe(200);
    // Each refusal waits out three attempts at the room, each with STORAGE_TIMEOUT_MS (1 s here).
  }, 15_000);

  it("keep sessions, presence and broadcasts working after the shards and the room are evicted", async () => {
    const alice = await openSocket(APP);
    const watcher = await openSocket(APP);
    expect((await alice.request(1, "auth", { app_id: APP, access_token: token(13), subscriptions: ["CHAT"] }))[0]).toBeNull();
    expect((await watcher.request(1, "auth", { app_id: APP, subscriptions: ["CHAT"] }))[0]).toBeNull();

    // The room starts anew and learns the app's sessions from its shards.
    for (const shard of new Set([alice.sid, watcher.sid].map((sid) => shardOfSession(sid)!))) await evictDurableObject(shardStub(shard));
    await evictDurableObject(appRoom(APP));
    const [error, message] = await alice.request(2, "new_message", { text: "after hibernation" });
    expect(error).toBeNull();
    expect(await watcher.nextEvent("new_message")).toEqual(["new_message", message]);

    const late = await openSocket(APP);
    const [, response] = await late.request(1, "auth", { app_id: APP, access_token: token(14), subscriptions: ["CHAT"] });
    expect((response as { chat: { userlist: Record<string, unknown> } }).chat.userlist).toEqual({
      alice: { uname: "alice", auth_id: 3, role: "MEMBER" },
      bob: { uname: "bob", auth_id: 4, role: "MEMBER" },
    });

    await evictDurableObject(appRoom(APP));
    await alice.close("bye");
    expect(await watcher.nextEvent("user_left")).toEqual(["user_left", { uname: "alice" }]);
    for (const socket of [watcher, late]) await socket.close("done");
  });

  it("end the sessions a deleted signing key authenticated, though the room was not running when it was deleted", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    await env.DB.prepare("INSERT INTO signing_keys (app_id, kid, alg, jwk, created_at) VALUES (?1, 'gone', 'ES256', ?2, 0)")
      .bind(APP, JSON.stringify({ ...(await exportJWK(publicKey)), kid: "gone" }))
      .run();
    const now = Math.floor(Date.now() / 1000);
    const signed = await new SignJWT({ name: "signed_sue", role: "MEMBER" })
      .setProtectedHeader({ alg: "ES256", kid: "gone" })
      .setAudience(`app:${APP}`)
      .setSubject("601")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const sue = await openSocket(APP);
    expect(shardOfSession(sue.sid)).toBeGreaterThanOrEqual(1);
    const [, answer] = await sue.request(1, "auth", { app_id: APP, access_token: signed, subscriptions: ["CHAT"] });
    expect(answer).toMatchObject({ user: { uname: "signed_sue" } });
    await evictDurableObject(appRoom(APP));
    await env.DB.prepare("DELETE FROM signing_keys WHERE app_id = ?1 AND kid = 'gone'").bind(APP).run();
    expect(await appRoom(APP).forgetSigningKeys(APP, "gone")).toBe(1);
    expect(await sue.nextEvent("client_error")).toEqual(["client_error", "the key that signed your access token was deleted; authenticate again with a new token"]);
  });
});

describe("the version of the calls between shards and their room", () => {
  const client = { id: "rollout-client", shard: 1, session: null, recovery: null };
  const auth = { app_id: APP, subscriptions: ["CHAT"] };
  /**
   * The message a call over RPC was refused with (null when it was served), read with one `then`: vitest's
   * matchers read other properties of the promise, which on an RPC promise are calls of their own that fail
   * unhandled.
   */
  const refusal = (call: Promise<unknown>) => Promise.resolve(call).then(() => null, (error: Error) => error.message);

  it("is served when it is this code's or absent (code from before versions), and refused by name when it is not", async () => {
    const room = appRoom(APP);
    expect(await room.request(APP, client, "auth", auth, ORDERING_VERSION)).toMatchObject({ ok: true });
    expect(await room.request(APP, { ...client, id: "older-code" }, "auth", auth)).toMatchObject({ ok: true });
    expect(await refusal(room.request(APP, { ...client, id: "newer-code" }, "auth", auth, ORDERING_VERSION + 1))).toBe(
      `request: ordering version ${ORDERING_VERSION + 1} is not served by this object, which serves ${SERVED_ORDERING_VERSIONS.join(", ")} (a rollout in progress)`,
    );
    expect(await refusal(room.leave(APP, client, "client namespace disconnect", ORDERING_VERSION + 1))).toMatch(/^leave: ordering version/);

    const shard = shardStub(1);
    expect(typeof (await shard.receive([], ORDERING_VERSION))).toBe("string");
    expect(typeof (await shard.receive([]))).toBe("string");
    expect(await refusal(shard.receive([], ORDERING_VERSION + 1))).toMatch(`receive: ordering version ${ORDERING_VERSION + 1} is not served`);
    expect(await refusal(shard.snapshot(ORDERING_VERSION + 1))).toMatch(/^snapshot: ordering version/);
    // A batch (version 2): each call answered in its place, a failed one with its error.
    // (The stub's type makes `unknown` values unserializable: the answer is read as what the room returns.)
    const answer = (await room.calls(
      APP,
      1,
      [
        { kind: "request", client: { ...client, id: "batched" }, event: "auth", payload: auth },
        { kind: "request", client: { ...client, id: "batched-2" }, event: "auth", payload: { app_id: APP + 1000, subscriptions: ["CHAT"] } },
        { kind: "leave", client: { ...client, id: "older-code" }, reason: "client namespace disconnect" },
      ],
      ORDERING_VERSION,
    )) as unknown as OrderingBatchAnswer;
    expect(answer.results).toMatchObject([{ ok: true, value: { ok: true } }, { ok: true, value: { ok: false, error: "INVALID_AUTH" } }, { ok: true }]);
    // The room's rate shared among the app's shards that sent a batch in the last second (this one among them).
    expect(answer.spacingMs % Math.ceil(1000 / ROOM_BATCHES_PER_SECOND)).toBe(0);
    expect(answer.spacingMs).toBeGreaterThan(0);
    expect(await refusal(room.leave(APP, client, "client namespace disconnect", ORDERING_VERSION))).toBeNull();
    expect(await refusal(room.leave(APP, { ...client, id: "batched" }, "client namespace disconnect"))).toBeNull();
  });

  it("answers every call of a batch, with the number of users its userlist holds (by which a shard sizes its next batches)", async () => {
    const room = appRoom(APP);
    const alice = { ...client, id: "counted-alice" };
    const joined = (await room.calls(APP, 1, [{ kind: "request", client: alice, event: "auth", payload: { ...auth, access_token: token(13) } }], ORDERING_VERSION)) as unknown as OrderingBatchAnswer;
    expect(joined.results).toMatchObject([{ ok: true, value: { ok: true, value: { user: { uname: "alice" } } } }]);
    const online = joined.usersOnline!;
    expect(online).toBeGreaterThanOrEqual(1);
    const left = (await room.calls(APP, 1, [{ kind: "leave", client: alice, reason: "client namespace disconnect" }], ORDERING_VERSION)) as unknown as OrderingBatchAnswer;
    expect(left.results).toEqual([{ ok: true }]);
    expect(left.usersOnline).toBe(online - 1);
  });
});
