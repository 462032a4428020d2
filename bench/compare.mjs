// `npm run bench:compare -- BEFORE.js AFTER.js`: two builds of the Worker side by side, in one run, on what a change
// to how the script is built can move: an isolate's start-up, and the CPU of a warm connect+auth. Build each with
// `wrangler deploy --dry-run --outdir DIR` in its own checkout. `--rounds 0` compares start-up alone, for a build
// whose bindings or vars are not the current wrangler.toml's.
//
// This machine's speed drifts by a third within minutes, and separate runs of `npm run bench` for each build could
// not tell a 5% change from that drift. So each measure here alternates the two builds and reports the difference
// within each pair: start-up as in `npm run bench -- --cold` (workerd's CPU when N isolates of the script are ready,
// less N of an empty module, per isolate), and connects on one server of each, started once, taking rounds of
// --clients connect+auths in turn (a server's own rounds back to back measured the closing of its last round's
// sockets too).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { copySeededDatabase } from "../scripts/local-server.mjs";
import { connectRound, isolatesStartup, loadVars, percentile, startWorkerd, writeEmptyModule } from "./harness.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: "string", default: "16" },
    isolates: { type: "string", default: "41" },
    rounds: { type: "string", default: "8" },
    clients: { type: "string", default: "1000" },
  },
});
const usage = "usage: npm run bench:compare -- BEFORE.js AFTER.js [--pairs 16] [--isolates 41] [--rounds 8, or 0 for start-up alone] [--clients 1000]";
if (positionals.length !== 2) throw new Error(usage);
const scripts = { before: positionals[0], after: positionals[1] };
const [pairs, isolates, rounds, clients] = ["pairs", "isolates", "rounds", "clients"].map((key) => Number(values[key]));
if (![pairs, isolates, rounds, clients].every((count) => Number.isInteger(count) && count >= 0)) throw new Error(usage);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (list) => percentile(list, 50);

const scratch = await mkdtemp(join(tmpdir(), "socketpot-compare-"));
try {
  const empty = await writeEmptyModule(scratch);
  const readyCpuMs = async (main) => (await isolatesStartup({ main, count: isolates })).readyCpuMs;
  const startup = { before: [], after: [] };
  for (let pair = 0; pair < pairs; pair++) {
    const none = await readyCpuMs(empty);
    for (const build of pair % 2 === 0 ? ["before", "after"] : ["after", "before"]) startup[build].push(((await readyCpuMs(scripts[build])) - none) / isolates);
  }

  // --rounds 0 compares start-up alone: a build of another time may not run with the current bindings and vars.
  const connects = rounds > 0 ? await compareConnects() : null;

  const row = (measure, series, unit, digits) => {
    const differences = series.after.map((value, index) => value - series.before[index]);
    const lower = differences.filter((difference) => difference < 0).length;
    const ratios = series.after.map((value, index) => value / series.before[index]);
    const cell = (value) => `${value.toFixed(digits)} ${unit}`;
    return `| ${measure} | ${cell(median(series.before))} | ${cell(median(series.after))} | ${cell(median(differences))} (${((median(differences) / median(series.before)) * 100).toFixed(1)}%) | ${median(ratios).toFixed(3)} | ${lower} of ${differences.length} |`;
  };
  console.log(`\nbefore: ${scripts.before}\nafter:  ${scripts.after}\n`);
  console.log("| measure | before (median) | after (median) | after − before, median of the pairs | after / before, median of the pairs | pairs where after is lower |\n|---|---|---|---|---|---|");
  console.log(row(`module start-up, CPU per isolate (${isolates} isolates less ${isolates} of an empty module; ${pairs} pairs)`, startup, "ms", 1));
  if (connects) console.log(row(`server CPU per connect+auth, warm (${clients} a round; ${rounds} pairs of rounds)`, connects, "µs", 0));
} finally {
  await rm(scratch, { recursive: true, force: true });
}

/** Each build's CPU per connect+auth (µs), round by round, on one server of each. */
async function compareConnects() {
  const connects = { before: [], after: [] };
  const vars = { ...loadVars(1), INGEST_TOKEN: "compare-ingest-token", ADMIN_TOKEN: "compare-admin-token" };
  const servers = {};
  for (const build of ["before", "after"]) {
    const persistTo = await mkdtemp(join(scratch, `${build}-`));
    await copySeededDatabase(persistTo);
    servers[build] = await startWorkerd(build, { persistTo, script: scripts[build], vars });
  }
  /** One round on `server`, then a pause for its closes to end before the other server's round. */
  const cpuPerConnect = async (server) => {
    const { cpuPerConnect } = await connectRound(server, { count: clients, concurrency: 50, deflate: false });
    await pause(2_000);
    return cpuPerConnect;
  };
  try {
    // An uncounted round each: the isolates' first connects are the cold bench's to measure.
    for (const build of ["before", "after"]) await cpuPerConnect(servers[build]);
    for (let round = 0; round < rounds; round++) for (const build of ["before", "after"]) connects[build].push(await cpuPerConnect(servers[build]));
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
  return connects;
}
