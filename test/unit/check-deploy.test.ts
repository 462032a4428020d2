import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/local-server.mjs";
import { configNotes, configProblems } from "../../scripts/check-deploy.mjs";


/** The project's wrangler.toml with `edit` applied, as wrangler reads it (from beside the project). */
let directory: string;
let toml: string;
async function read(edit: (text: string) => string) {
  const path = join(directory, `wrangler-${Math.random().toString(36).slice(2)}.toml`);
  await writeFile(path, edit(toml));
  return unstable_readConfig({ config: path });
}
const withDatabaseId = (text: string) => text.replace('database_name = "socketpot"', 'database_name = "socketpot"\ndatabase_id = "0b5c1b7e-1a2b-4c3d-8e9f-0123456789ab"');

/** `npm run check-deploy`'s checks of wrangler.toml (its account checks need a Cloudflare login, which tests do not have). */
describe("the deploy check of wrangler.toml", () => {
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "socketpot-check-"));
    toml = (await readFile(join(ROOT, "wrangler.toml"), "utf8")).replace('directory = "public"', `directory = "${join(ROOT, "public")}"`);
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it("asks for the D1 database id the repository leaves out, and for nothing else", async () => {
    expect((await read((text) => text)).d1_databases).toHaveLength(1);
    expect(configProblems(await read((text) => text)).map(({ problem }) => problem)).toEqual(["the D1 database has no database_id"]);
    expect(configProblems(await read(withDatabaseId))).toEqual([]);
  });

  it("finds a custom domain pasted at the end, where TOML reads it into the last [[migrations]] entry", async () => {
    const pasted = await read((text) => `${withDatabaseId(text)}\nroutes = [{ pattern = "socket.example.com", custom_domain = true }]\n`);
    expect(configProblems(pasted)).toEqual([
      { problem: "routes ended up inside the [[migrations]] entry v2, where wrangler ignores it", fix: "move routes to the top of wrangler.toml, above its first [table]" },
    ]);
    const placed = await read((text) => `routes = [{ pattern = "socket.example.com", custom_domain = true }]\n${withDatabaseId(text)}`);
    expect(configProblems(placed)).toEqual([]);
    expect(configNotes(placed)).toEqual(["with routes or a custom domain set, workers.dev stops serving this Worker; add workers_dev = true to keep it"]);
  });

  it("finds a queue without its dead-letter queue, and a missing cron", async () => {
    const edited = await read((text) => withDatabaseId(text).replace('dead_letter_queue = "socketpot-events-dlq"\n', "").replace(/\[triggers\]\ncrons = \[[^\]]*\]\n/, ""));
    expect(configProblems(edited).map(({ problem }) => problem)).toEqual([
      "the queue socketpot-events has no dead-letter queue",
      "no Cron Trigger: expired messages and mutes are never deleted",
    ]);
  });
});
