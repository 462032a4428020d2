import type { Env } from "../config.js";
import { D1Metrics } from "../storage/d1-metrics.js";
import type { MetricsSink } from "./export.js";
import { COUNTERS, GAUGES } from "./minute-metrics.js";

/** The names of an Analytics Engine data point's doubles, in order: every counter, then every gauge. */
export const DATA_POINT_DOUBLES = [...COUNTERS, ...GAUGES];

/**
 * Where app objects export their metrics: D1 for scrapes, and when the METRICS binding is configured, Workers
 * Analytics Engine, one data point per object and minute: index the app id, blobs the object's name and the
 * minute (ISO-8601), doubles {@link DATA_POINT_DOUBLES}.
 */
export function metricsSink(env: Env): MetricsSink {
  const d1 = new D1Metrics(env.DB);
  const dataset = env.METRICS;
  return {
    current: (appId, source, values, at) => d1.saveCurrent(appId, source, values, at),
    minutes: (appId, source, minutes) => {
      if (!dataset) return;
      for (const minute of minutes) {
        dataset.writeDataPoint({ indexes: [String(appId)], blobs: [source, minute.minute], doubles: DATA_POINT_DOUBLES.map((name) => minute[name]) });
      }
    },
  };
}
