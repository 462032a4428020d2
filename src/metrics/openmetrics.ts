import type { ScrapedValue } from "../storage/d1-metrics.js";
import type { Counter, Gauge } from "./minute-metrics.js";

/** The content type of {@link renderOpenMetrics}'s text (what Prometheus asks for first). */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A metric family: its samples are the named values, each with its own extra labels. */
interface Family {
  name: string;
  type: "counter" | "gauge";
  unit?: string;
  help: string;
  samples: Array<{ value: string; labels?: Record<string, string> }>;
}

/** The counters of an app's objects, and those the Queue consumers keep. */
type ScrapedCounter = Counter | "webhook_deliveries" | "webhook_failures" | "dead_lettered";

const COUNTER_HELP: Record<ScrapedCounter, string> = {
  connects: "Connections opened (every transport and protocol, before any auth).",
  sessions_started: "Sessions started by an auth that succeeded, a user's or anonymous.",
  auth_failures: "Auths refused: malformed, for another app, or with a token that grants no user.",
  chat_messages: "Chat messages taken and stored.",
  rate_limited: "Chat messages refused by the rate limit or slow mode.",
  refused_messages: "Chat messages refused for any other reason (invalid, muted, banned, not allowed).",
  deliveries: "Broadcasts delivered to a client (one message to 40 listeners is 40).",
  recovered_sessions: "Reconnections that got their session and missed broadcasts back.",
  unrecovered_sessions: "Reconnections that asked for a session it was too late to recover.",
  events_received: "Deposit and bet events that reached the app's room from the Queue.",
  events_delivered: "Events the room passed on to clients (not seen before).",
  webhook_deliveries: "Webhook POSTs an endpoint accepted.",
  webhook_failures: "Webhook POSTs that failed (an error status, a timeout, no connection).",
  dead_lettered: "Events and webhook deliveries the Queue gave up on, sent to a dead-letter queue.",
};
const SCRAPED_COUNTERS = Object.keys(COUNTER_HELP) as ScrapedCounter[];

/** Gauges that are one family with a label; the rest are families of their own. */
const LABELLED_GAUGES: Partial<Record<Gauge, { family: string; label: string; value: string }>> = {
  connections_websocket: { family: "connections", label: "transport", value: "websocket" },
  connections_polling: { family: "connections", label: "transport", value: "polling" },
  connections_eio3: { family: "client_connections", label: "protocol", value: "engine.io-3" },
  connections_eio4: { family: "client_connections", label: "protocol", value: "engine.io-4" },
  connections_plain: { family: "client_connections", label: "protocol", value: "plain" },
};

/**
 * Every app's metrics in the OpenMetrics text format (1.0): counters as counters (`_total`, only ever growing,
 * as each source keeps its own total), gauges as gauges, labelled by app, ending in `# EOF`. Values are as each
 * object last exported them (within a minute or so of what happened); `socketpot_metrics_updated` says when.
 */
export function renderOpenMetrics(values: ScrapedValue[]): string {
  const families = new Map<string, Family>();
  const family = (name: string, type: Family["type"], help: string, unit?: string) => {
    let found = families.get(name);
    if (!found) {
      found = { name, type, help, samples: [], ...(unit ? { unit } : {}) };
      families.set(name, found);
    }
    return found;
  };
  // Every family is described, whether or not an app has a value in it yet.
  for (const counter of SCRAPED_COUNTERS) family(counter, "counter", COUNTER_HELP[counter]);
  family("connections", "gauge", "Open connections, by transport.");
  family("client_connections", "gauge", "Open connections, by protocol: Engine.IO 3 (socket.io-client 1.x and 2.x), Engine.IO 4 (3.x and later), plain WebSocket.");
  family("users", "gauge", "Authenticated users online, distinct over the app's shards.");
  family("shards", "gauge", "Connection shards new connections are spread over.");
  family("metrics_updated_timestamp_seconds", "gauge", "When the app's metrics were last exported.", "seconds");

  const updated = new Map<number, number>();
  for (const { appId, name, value, updatedAt } of values) {
    const app = String(appId);
    updated.set(appId, Math.max(updated.get(appId) ?? 0, updatedAt));
    const labelled = LABELLED_GAUGES[name as Gauge];
    if (labelled) families.get(labelled.family)!.samples.push({ value: String(value), labels: { app_id: app, [labelled.label]: labelled.value } });
    else if (families.has(name)) families.get(name)!.samples.push({ value: String(value), labels: { app_id: app } });
  }
  for (const [appId, at] of updated) families.get("metrics_updated_timestamp_seconds")!.samples.push({ value: (at / 1000).toFixed(3), labels: { app_id: String(appId) } });

  const lines: string[] = [];
  for (const { name, type, unit, help, samples } of families.values()) {
    const full = `socketpot_${name}`;
    lines.push(`# TYPE ${full} ${type}`);
    if (unit) lines.push(`# UNIT ${full} ${unit}`);
    lines.push(`# HELP ${full} ${escape(help)}`);
    for (const sample of samples) lines.push(`${full}${type === "counter" ? "_total" : ""}${labelSet(sample.labels)} ${sample.value}`);
  }
  lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}

function labelSet(labels: Record<string, string> | undefined): string {
  if (!labels) return "";
  return `{${Object.entries(labels)
    .map(([name, value]) => `${name}="${escape(value)}"`)
    .join(",")}}`;
}

/** Escapes a label value or help text: backslash, double quote and line feed. */
function escape(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

