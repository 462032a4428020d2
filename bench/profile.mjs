// `npm run profile`: where Socketpot Edge's isolate spends its CPU while clients connect and authenticate. Serves
// the built Worker on workerd through Miniflare (as `npm run bench` does) with the inspector open, samples the
// isolate with V8's CPU profiler during --clients connects (--concurrency at a time, --shards K), and prints the
// functions with the most self time, grouped by source file and function. The profile itself goes to
// --out (a .cpuprofile that Chrome DevTools opens). --floor profiles the bench's bare Durable Object instead, the
// reference for what the runtime itself costs; --plain connects over the plain-WebSocket protocol. --fanout
// samples the chat fan-out instead: --rate messages a second for --seconds, to every connected client. --var
// NAME=VALUE (repeatable) sets one of the server's variables, e.g. --var RECOVERY_WINDOW_MS=0. --idle N first
// connects N idle sockets (authenticated, subscribed to BETS), so that the connects are sampled among them.
// --warmup samples a fresh server's first --clients connects and then as many again, and prints the functions
// whose time per connect fell most from the first round to the second: where a fresh isolate's warm-up goes; with
// --out, each round's profile is written beside it (NAME.first.cpuprofile, NAME.next.cpuprofile).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildWorker, freePort, copySeededDatabase } from "../scripts/local-server.mjs";
import { busyMs, loadVars, loader, percentile, startWorkerd } from "./harness.mjs";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "50" },
    shards: { type: "string", default: "1" },
    out: { type: "string" },
    top: { type: "string", default: "30" },
    floor: { type: "boolean", default: false },
    plain: { type: "boolean", default: false },
    fanout: { type: "boolean", default: false },
    rate: { type: "string", default: "10" },
    seconds: { type: "string", default: "5" },
    idle: { type: "string", default: "0" },
    warmup: { type: "boolean", default: false },
    var: { type: "string", multiple: true, default: [] },
  },
});

/** A Chrome DevTools Protocol session on one inspector target. */
async function inspect(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`cannot open the inspector at ${url}`));
  });
  let nextId = 0;
  const pending = new Map();
  ws.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, (message) => (message.error ? reject(new Error(message.error.message)) : resolve(message.result)));
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** The samples taken while the isolate was busy (not idle), as the profile's nodes. */
function busySamples(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  return profile.samples.map((id) => nodes.get(id)).filter((node) => node.callFrame.functionName !== "(idle)");
}

/** Self time per function (file:line function), most first, as shares of the samples when the isolate was busy. */
function selfTimes(busy) {
  const counts = new Map();
  for (const { callFrame } of busy) {
    const { functionName, url, lineNumber } = callFrame;
    const file = url ? url.replace(/^.*\//, "") : "(native)";
    const key = `${file}:${lineNumber + 1} ${functionName || "(anonymous)"}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ name, share: count / busy.length }));
}

/**
 * --warmup: samples a fresh server's first --clients connects, then as many again, and prints per connect the
 * functions whose time fell most between the two rounds.
 */
async function warmup(server, session, load, connect) {
  const round = async () => {
    await session.send("Profiler.start");
    const { times } = await connect();
    const { profile } = await session.send("Profiler.stop");
    await load.run("close");
    return { profile, connects: times.length };
  };
  const first = await round();
  await pause(2_000);
  const next = await round();
  if (values.out) {
    for (const [name, { profile }] of Object.entries({ first, next })) await writeFile(values.out.replace(/(\.cpuprofile)?$/, `.${name}.cpuprofile`), JSON.stringify(profile));
  }
  const perConnect = ({ profile, connects }) => {
    const busyUs = (busyMs(profile) * 1000) / connects;
    return { busyUs, functions: new Map(selfTimes(busySamples(profile)).map(({ name, share }) => [name, share * busyUs])) };
  };
  const [cold, warm] = [perConnect(first), perConnect(next)];
  console.log(`${server.name}: the isolate busy ${cold.busyUs.toFixed(0)} µs per connect+auth in a fresh server's first ${clients}, ${warm.busyUs.toFixed(0)} µs in the next ${clients}\n`);
  console.log("| first round | next round | fell by | function |\n|---|---|---|---|");
  const names = [...new Set([...cold.functions.keys(), ...warm.functions.keys()])];
  const fell = names.map((name) => ({ name, cold: cold.functions.get(name) ?? 0, warm: warm.functions.get(name) ?? 0 })).sort((a, b) => b.cold - b.warm - (a.cold - a.warm));
  for (const { name, cold: before, warm: after } of fell.slice(0, Number(values.top))) console.log(`| ${before.toFixed(1)} µs | ${after.toFixed(1)} µs | ${(before - after).toFixed(1)} µs | ${name} |`);
}

const clients = Number(values.clients);
const sent = Number(values.rate) * Number(values.seconds);

const state = await mkdtemp(join(tmpdir(), "socketpot-profile-"));
try {
  await copySeededDatabase(state);
  const script = await buildWorker(join(state, "build"), undefined, { minify: false });
  const inspectorPort = await freePort();
  const vars = { ...loadVars(values.shards), ...Object.fromEntries(values.var.map((each) => each.split("="))) };
  const server = values.floor
    ? await startWorkerd("floor", { floor: true, inspectorPort })
    : await startWorkerd("Socketpot Edge", { persistTo: state, script, vars, inspectorPort });
  try {
    const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
    const target = targets.find((each) => each.id.startsWith("core:user:"));
    const session = await inspect(target.webSocketDebuggerUrl);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 100 });
    const load = loader();
    const protocol = values.plain ? "plain" : "socket.io";
    const concurrency = Number(values.concurrency);
    if (Number(values.idle) > 0) await load.run("idle", { url: server.url, count: Number(values.idle), concurrency, deflate: false, protocol });
    const connect = () => load.run("connect", { url: server.url, count: clients, offset: 0, concurrency, deflate: false, protocol });
    if (values.warmup) {
      await warmup(server, session, load, connect);
      load.kill();
      session.close();
    } else {
      // Only the phase under study is sampled: the connects, or (--fanout) the messages sent once all are in.
      let times;
      if (values.fanout) ({ times } = await connect());
      await session.send("Profiler.start");
      if (values.fanout) await load.run("send", { count: sent, rate: Number(values.rate) });
      else ({ times } = await connect());
      const { profile } = await session.send("Profiler.stop");
      const { latencies } = await load.run("collect");
      await load.run("close");
      load.kill();
      session.close();
      if (values.out) await writeFile(values.out, JSON.stringify(profile));
      const p50 = (values) => percentile(values, 50).toFixed(0);
      const busy = busyMs(profile);
      console.log(
        values.fanout
          ? `${server.name}: ${sent} messages to ${clients} subscribers, delivery p50 ${p50(latencies)} ms; the isolate busy ${((busy * 1000) / latencies.length).toFixed(2)} µs per delivery\n`
          : `${server.name}: ${times.length} connects+auths, p50 ${p50(times)} ms; the isolate busy ${(busy / times.length).toFixed(2)} ms per connect+auth\n`,
      );
      console.log("| self time | function |\n|---|---|");
      for (const { name, share } of selfTimes(busySamples(profile)).slice(0, Number(values.top))) console.log(`| ${(share * 100).toFixed(1)}% | ${name} |`);
    }
  } finally {
    await server.stop();
  }
} finally {
  await rm(state, { recursive: true, force: true });
}
process.exit(0);
