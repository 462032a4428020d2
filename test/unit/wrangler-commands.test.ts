import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, wrangler } from "../../scripts/local-server.mjs";

const DOCS = ["README.md", "docs/deploy.md", "docs/operations.md", "docs/admin.md", "docs/webhooks.md", "docs/events.md"];

/** Every wrangler command the docs give: in code spans, and on the lines of code blocks (after a pipe, if any). */
function documentedCommands(): Array<{ doc: string; command: string }> {
  const found: Array<{ doc: string; command: string }> = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), "utf8");
    for (const [, command] of text.matchAll(/`((?:npx )?wrangler [^`]+)`/g)) found.push({ doc, command: command! });
    for (const [, block] of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const line of block!.split("\n")) {
        // Without its shell comment (a whole line, or what follows ` #`).
        const code = line.trimStart().startsWith("#") ? "" : line.replace(/\s#.*$/, "");
        const at = code.search(/(?:npx )?wrangler /);
        if (at >= 0) found.push({ doc, command: code.slice(at).split(/;|&&/)[0]!.trim() });
      }
    }
  }
  return found;
}

/** A command's words, with quoted ones kept whole. */
const words = (command: string) => [...command.matchAll(/"[^"]*"|\S+/g)].map(([word]) => word).filter((word) => word !== "npx");

const helps = new Map<string, Promise<string>>();
/** The pinned wrangler's --help for a command path (what the docs' `npx wrangler` runs). */
function help(path: string[]): Promise<string> {
  const key = path.join(" ");
  if (!helps.has(key)) helps.set(key, wrangler([...path, "--help"]).then(({ stdout }) => stdout));
  return helps.get(key)!;
}

/** A command as the pinned wrangler reads it: its command path, that path's --help, and the words after it. */
async function resolve(command: string): Promise<{ path: string[]; text: string; rest: string[] }> {
  const [, ...rest] = words(command);
  const path: string[] = [];
  for (const word of rest) {
    if (!/^[a-z][a-z0-9-]*$/.test(word)) break;
    const listed = new RegExp(`^\\s*wrangler ${[...path, word].join(" ")}(\\s|$)`, "m");
    if (!listed.test(await help(path))) break;
    path.push(word);
  }
  return { path, text: await help(path), rest };
}

/** Resolves every command, three wrangler processes at a time (each --help starts wrangler: a second or two). */
async function resolveAll(commands: string[]): Promise<Map<string, Awaited<ReturnType<typeof resolve>>>> {
  const resolved = new Map<string, Awaited<ReturnType<typeof resolve>>>();
  const queue = [...new Set(commands)];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let command = queue.shift(); command !== undefined; command = queue.shift()) resolved.set(command, await resolve(command));
    }),
  );
  return resolved;
}

/**
 * What `npx wrangler …` means in the docs is checked against the wrangler the project pins (package.json), not
 * against a memory of its docs: each command's subcommands exist, and each flag is one that subcommand takes.
 */
describe("the wrangler commands in the docs", () => {
  const commands = documentedCommands();
  let resolved: Awaited<ReturnType<typeof resolveAll>>;
  beforeAll(async () => {
    resolved = await resolveAll(commands.map(({ command }) => command));
  }, 120_000);
  it("are found (the docs give at least the deploy guide's)", () => {
    expect(commands.length).toBeGreaterThan(15);
  });
  it.each(commands.map(({ doc, command }) => [doc, command]))("%s: %s", (_, command) => {
    const { path, text, rest } = resolved.get(command)!;
    expect(path.length, `no wrangler command in "${command}"`).toBeGreaterThan(0);
    // A word after a command group that is not one of its subcommands names none.
    const next = rest[path.length];
    const group = new RegExp(`^\\s*wrangler ${path.join(" ")} [a-z]`, "m").test(text);
    expect(group && next !== undefined && /^[a-z]/.test(next), `wrangler ${path.join(" ")} has no subcommand ${next}`).toBe(false);
    for (const flag of rest.filter((word) => word.startsWith("-")).map((word) => word.split("=")[0]!)) {
      expect(text, `${flag} is not a flag of wrangler ${path.join(" ")}`).toMatch(new RegExp(`(^|[\\s,])${flag}[\\s,=]`, "m"));
    }
  });
});
