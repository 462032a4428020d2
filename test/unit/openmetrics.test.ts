import { describe, expect, it } from "vitest";
import { COUNTERS, GAUGES } from "../../src/metrics/minute-metrics.js";
import { renderOpenMetrics } from "../../src/metrics/openmetrics.js";
import type { Env } from "../../src/config.js";
import type { MetricsMinute } from "../../src/metrics/minute-metrics.js";
import { DATA_POINT_DOUBLES, metricsSink } from "../../src/metrics/sink.js";

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABELS = /^\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\}$/;

/**
 * Reads OpenMetrics text as the format's grammar says, strictly: descriptors before samples, each family's lines
 * together and once, counters sampled as `_total`, a UNIT that ends the family's name, numbers that parse, and
 * `# EOF` last. Answers family → type and samples.
 */
function parse(text: string) {
  expect(text.endsWith("# EOF\n")).toBe(true);
  const lines = text.slice(0, -"# EOF\n".length).split("\n").slice(0, -1);
  const families = new Map<string, { type: string; samples: Map<string, number> }>();
  let current: string | null = null;
  for (const line of lines) {
    const descriptor = /^# (TYPE|UNIT|HELP) (\S+) (.*)$/.exec(line);
    if (descriptor) {
      const [, kind, name, rest] = descriptor as unknown as [string, string, string, string];
      expect(name).toMatch(NAME);
      if (kind === "TYPE") {
        expect(families.has(name), `${name} described twice`).toBe(false);
        expect(["counter", "gauge"]).toContain(rest);
        families.set(name, { type: rest, samples: new Map() });
        current = name;
      } else {
        expect(name, `${kind} outside its family`).toBe(current);
        expect(families.get(name)!.samples.size, `${kind} after samples`).toBe(0);
        if (kind === "UNIT") expect(name.endsWith(`_${rest}`)).toBe(true);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    expect(sample, `not a sample: ${line}`).not.toBeNull();
    const [, name, labels = "", value] = sample as unknown as [string, string, string | undefined, string];
    if (labels) expect(labels).toMatch(LABELS);
    const family = families.get(current!)!;
    expect(name).toBe(family.type === "counter" ? `${current}_total` : current);
    expect(Number.isFinite(Number(value))).toBe(true);
    expect(family.samples.has(labels), `${name}${labels} twice`).toBe(false);
    family.samples.set(labels, Number(value));
  }
  return families;
}

describe("OpenMetrics", () => {
  it("describes every family, samples each app's values under its labels, and ends with # EOF", () => {
    const at = Date.parse("2026-12-02T01:00:00Z");
    const text = renderOpenMetrics([
      { appId: 1, name: "connects", value: 12, updatedAt: at },
      { appId: 1, name: "connections_websocket", value: 3, updatedAt: at },
      { appId: 1, name: "connections_polling", value: 1, updatedAt: at },
      { appId: 1, name: "connections_eio3", value: 1, updatedAt: at },
      { appId: 1, name: "users", value: 2, updatedAt: at - 5_000 },
      { appId: 2, name: "dead_lettered", value: 4, updatedAt: at },
      { appId: 2, name: "something_retired", value: 9, updatedAt: at },
    ]);
    const families = parse(text);
    expect(families.get("socketpot_connects")).toEqual({ type: "counter", samples: new Map([['{app_id="1"}', 12]]) });
    expect(families.get("socketpot_connections")!.samples).toEqual(
      new Map([
        ['{app_id="1",transport="websocket"}', 3],
        ['{app_id="1",transport="polling"}', 1],
      ]),
    );
    expect(families.get("socketpot_client_connections")!.samples).toEqual(new Map([['{app_id="1",protocol="engine.io-3"}', 1]]));
    expect(families.get("socketpot_users")).toEqual({ type: "gauge", samples: new Map([['{app_id="1"}', 2]]) });
    expect(families.get("socketpot_dead_lettered")!.samples).toEqual(new Map([['{app_id="2"}', 4]]));
    expect(families.get("socketpot_metrics_updated_timestamp_seconds")!.samples).toEqual(
      new Map([
        ['{app_id="1"}', at / 1000],
        ['{app_id="2"}', at / 1000],
      ]),
    );
    // Every counter an object keeps is a counter family; a name nothing describes is left out.
    for (const counter of COUNTERS) expect(families.get(`socketpot_${counter}`)?.type).toBe("counter");
    expect(GAUGES.filter((gauge) => !gauge.startsWith("connections_")).map((gauge) => families.get(`socketpot_${gauge}`)?.type)).toEqual(["gauge", "gauge"]);
    expect(text).not.toContain("something_retired");
  });

  it("is only descriptors and # EOF when nothing was exported yet", () => {
    const families = parse(renderOpenMetrics([]));
    expect([...families.values()].every((family) => family.samples.size === 0)).toBe(true);
  });
});

describe("Analytics Engine data points", () => {
  it("stay within a point's limits: one index, at most 20 blobs and 20 doubles", () => {
    expect(DATA_POINT_DOUBLES.length).toBeLessThanOrEqual(20);
    expect(DATA_POINT_DOUBLES).toEqual([...COUNTERS, ...GAUGES]);
  });
});

describe("the Analytics Engine sink", () => {
  it("writes one data point per minute: the app id as index, the object and minute as blobs, every counter and gauge as doubles", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const sink = metricsSink({ DB: {} as D1Database, METRICS: { writeDataPoint: (point) => void points.push(point!) } } as Env);
    const minute = Object.fromEntries(DATA_POINT_DOUBLES.map((name, index) => [name, index + 1])) as unknown as MetricsMinute;
    sink.minutes(7, "app:7:shard:2", [{ ...minute, minute: "2026-12-02T01:00:00.000Z" }]);
    expect(points).toEqual([{ indexes: ["7"], blobs: ["app:7:shard:2", "2026-12-02T01:00:00.000Z"], doubles: DATA_POINT_DOUBLES.map((_, index) => index + 1) }]);
    // Without the binding, nothing is written and nothing fails.
    expect(() => metricsSink({ DB: {} as D1Database } as Env).minutes(7, "app:7", [{ ...minute, minute: "2026-12-02T01:00:00.000Z" }])).not.toThrow();
  });
});
