import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copySeededDatabase, ROOT, startLocalServer } from "../../scripts/local-server.mjs";
import { join as joinChat, next, request, connect } from "../support/clients.js";
import { adminCall } from "../support/http.js";
import { localSecret, runningServers, TEST_SHARDS } from "../support/server.js";

const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();

/**
 * The release before this one's newest migration: the parent of the commit that added it. A deploy applies the
 * D1 migrations first and each object takes up the new code within minutes after (docs/deploy.md), so for that
 * while this release's schema is served by that release's code.
 */
function previousRelease(): { commit: string; migration: string } {
  const [added] = git("log", "--diff-filter=A", "--format=%H", "--", "migrations/").split("\n");
  if (!added) throw new Error("no commit adds a migration: this test needs the repository's history (a full clone)");
  const migration = git("diff-tree", "--no-commit-id", "--name-only", "--diff-filter=A", "-r", added, "--", "migrations/").split("\n").sort().at(-1)!;
  return { commit: git("rev-parse", `${added}^`), migration };
}

let tree: string;
let state: string;
let server: Awaited<ReturnType<typeof startLocalServer>>;
let adminToken: string;
let release: { commit: string; migration: string };

beforeAll(async () => {
  release = previousRelease();
  tree = await mkdtemp(join(tmpdir(), "socketpot-previous-"));
  execFileSync("sh", ["-c", `git archive ${release.commit} | tar -x -C "${tree}"`], { cwd: ROOT });
  // Its dependencies are this release's: a release's dependencies change far less often than its schema.
  await symlink(join(ROOT, "node_modules"), join(tree, "node_modules"));
  // This release's migrations and seed, the newest among them.
  state = await mkdtemp(join(tmpdir(), "socketpot-upgrade-"));
  await copySeededDatabase(state);
  adminToken = await localSecret("ADMIN_TOKEN");
  const vars = { ROOM_SHARDS: TEST_SHARDS, ADMIN_TOKEN: adminToken, INGEST_TOKEN: await localSecret("INGEST_TOKEN") };
  server = await startLocalServer({ persistTo: state, vars, config: join(tree, "wrangler.toml") });
  runningServers.add(server);
}, 120_000);

afterAll(async () => {
  if (server) {
    runningServers.delete(server);
    await server.stop({ discardingState: true });
  }
  await Promise.all([tree, state].filter(Boolean).map((path) => rm(path, { recursive: true, force: true })));
});

/**
 * Expand, then contract: a migration only adds what the previous release does not read (tables, columns with
 * defaults, indexes), and what it stops reading is dropped by a later release's migration, once no code reads
 * it. So the previous release's code keeps its contract on this release's schema for as long as it runs.
 */
describe("the previous release on this release's schema", () => {
  it("authenticates stored users, chats and keeps history, and issues new tokens that authenticate", async () => {
    expect(release.migration).toMatch(/^migrations\/\d{4}_.+\.sql$/);
    const alice = await joinChat(server.url, "alice");
    const bob = await joinChat(server.url, "bob");
    const heard = next<{ text: string }>(bob.socket, "new_message");
    const [error, message] = await request(alice.socket, "new_message", { text: `across ${release.migration}` });
    expect(error).toBeNull();
    expect((message as { text: string }).text).toBe(`across ${release.migration}`);
    expect((await heard).text).toBe(`across ${release.migration}`);
    const later = await joinChat(server.url, "mod");
    const history = (later.response["chat"] as { messages: Array<{ text: string }> }).messages;
    expect(history.map((each) => each.text)).toContain(`across ${release.migration}`);

    const issued = await adminCall(server.url, adminToken, "POST", "/apps/1/tokens", { auth_id: 77, uname: "upgraded", role: "MEMBER" });
    expect(issued.status).toBe(201);
    const socket = await connect(server.url, { appId: 1 });
    const [authError, auth] = await request(socket, "auth", { app_id: 1, access_token: issued.json!["token"], subscriptions: ["CHAT"] });
    expect(authError).toBeNull();
    expect((auth as { user: { uname: string } }).user.uname).toBe("upgraded");
    for (const each of [alice.socket, bob.socket, later.socket, socket]) each.disconnect();
  });
});
