import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copySeededDatabase, ROOT, startLocalServer } from "../../scripts/local-server.mjs";
import { join as joinChat, next, request, connect } from "../support/clients.js";
import { adminCall } from "../support/http.js";
import { LAST_BEFORE_EXPAND_THEN_CONTRACT } from "../support/migrations.js";
import { localSecret, runningServers, TEST_SHARDS } from "../support/server.js";

const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();

/**
 * For each migration after {@link LAST_BEFORE_EXPAND_THEN_CONTRACT}, the release before it: the parent of the
 * commit that added it. A deploy applies the D1 migrations first and each object takes up the new code within minutes after
 * (docs/deploy.md), so for that while the new schema is served by that release's code; an operator who skipped
 * releases has the oldest of them on every migration since.
 */
function previousReleases(): Array<{ commit: string; migration: string }> {
  const added = git("log", "--diff-filter=A", "--format=%H", "--", "migrations/").split("\n").filter(Boolean);
  if (added.length === 0) throw new Error("no commit adds a migration: this test needs the repository's history (a full clone)");
  return added
    .flatMap((commit) =>
      git("diff-tree", "--no-commit-id", "--name-only", "--diff-filter=A", "-r", commit, "--", "migrations/")
        .split("\n")
        .map((migration) => ({ added: commit, migration })),
    )
    .filter(({ migration }) => migration > `migrations/${LAST_BEFORE_EXPAND_THEN_CONTRACT}`)
    .sort((a, b) => a.migration.localeCompare(b.migration))
    .map(({ added: commit, migration }) => ({ commit: git("rev-parse", `${commit}^`), migration }));
}

/**
 * The suite runs the oldest release an upgrade may start from and the one before the newest migration, each on
 * this release's fully migrated schema: between them they meet every migration since 0003 under older code.
 * `UPGRADE_RELEASES=all` runs the release before each migration (about 5 s each).
 */
const releases = (() => {
  const all = previousReleases();
  return process.env["UPGRADE_RELEASES"] === "all" ? all : [...new Set([all[0]!, all.at(-1)!])];
})();

/**
 * Expand, then contract: a migration only adds what the previous release does not read (tables, columns with
 * defaults, indexes), and what it stops reading is dropped by a later release's migration, once no code reads
 * it. So an older release's code keeps its contract on this release's schema for as long as it runs.
 */
describe.each(releases)("the release before $migration, on this release's schema", (release) => {
  let tree: string;
  let state: string;
  let server: Awaited<ReturnType<typeof startLocalServer>>;
  let adminToken: string;

  beforeAll(async () => {
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
