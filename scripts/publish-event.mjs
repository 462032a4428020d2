// `npm run publish-event -- …`: posts a deposit or bet event to a local server's ingest endpoint.
//   deposit <uname|auth_id> <diff> [--unconfirmed] [--balance N]
//   bet <uname> <wager> <profit>
// Options: --app N (1), --url URL (http://127.0.0.1:8787); the token comes from INGEST_TOKEN or .dev.vars.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { DEMO_USERS } from "./local-server.mjs";

// Negative amounts (a loss, a withdrawal) would read as options; they are marked and unmarked around parsing.
const NEGATIVE = /^-\d+$/;
const { values, positionals } = parseArgs({
  args: process.argv.slice(2).map((arg) => (NEGATIVE.test(arg) ? `negative:${arg}` : arg)),
  allowPositionals: true,
  options: {
    app: { type: "string", default: "1" },
    url: { type: "string", default: "http://127.0.0.1:8787" },
    balance: { type: "string" },
    unconfirmed: { type: "boolean", default: false },
  },
});
const [kind, who, ...amounts] = positionals;
const usage = "usage: publish-event deposit <uname|auth_id> <diff> [--unconfirmed] [--balance N] | bet <uname> <wager> <profit>";
const number = (text) => {
  const digits = (text ?? "").replace(/^negative:/, "");
  if (!/^-?\d+$/.test(digits)) throw new Error(usage);
  return Number(digits);
};
const id = `cli-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

let event;
if (kind === "deposit") {
  const authId = /^\d+$/.test(who ?? "") ? Number(who) : DEMO_USERS.find((user) => user.uname === who)?.authId;
  if (!authId) throw new Error(`unknown user ${who}; give a demo uname or an auth_id`);
  const diff = number(amounts[0]);
  event = {
    id,
    type: values.unconfirmed ? "unconfirmed_balance_change" : "balance_change",
    auth_id: authId,
    balance: values.balance === undefined ? Math.max(0, diff) : number(values.balance),
    diff,
  };
} else if (kind === "bet") {
  if (!who) throw new Error(usage);
  event = { id, type: "new_bet", bet: { id: Date.now(), uname: who, wager: number(amounts[0]), profit: number(amounts[1]) } };
} else {
  throw new Error(usage);
}

const token =
  process.env.INGEST_TOKEN ??
  /^INGEST_TOKEN=(.*)$/m.exec(await readFile(new URL("../.dev.vars", import.meta.url), "utf8").catch(() => ""))?.[1];
if (!token) throw new Error("no ingest token: set INGEST_TOKEN or run `npm start` once to create .dev.vars");

const response = await fetch(`${values.url}/v1/apps/${values.app}/events`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify(event),
});
console.log(response.status, await response.text());
if (!response.ok) process.exitCode = 1;
