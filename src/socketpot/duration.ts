/** Durations in moderation commands: a positive whole number and an optional unit. */

const MS_PER_UNIT = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
} as const;
type Unit = keyof typeof MS_PER_UNIT;

const UNIT_ALIASES: ReadonlyMap<string, Unit> = new Map([
  ...["s", "sec", "secs", "second", "seconds"].map((alias) => [alias, "second"] as const),
  ...["m", "min", "mins", "minute", "minutes"].map((alias) => [alias, "minute"] as const),
  ...["h", "hr", "hrs", "hour", "hours"].map((alias) => [alias, "hour"] as const),
  ...["d", "day", "days"].map((alias) => [alias, "day"] as const),
]);

export const DEFAULT_MUTE: Duration = { ms: 10 * MS_PER_UNIT.minute, label: "10 minutes" };
export const MAX_MUTE_MS = 365 * MS_PER_UNIT.day;

export interface Duration {
  ms: number;
  /** How system messages say it: "10 minutes", "1 day". */
  label: string;
}

/**
 * Parses `10`, `10m`, `10 mins`, `2 hours`, `1d` (a bare number is in `defaultUnit`); null for anything else,
 * zero, or more than `maxMs`.
 */
export function parseDuration(text: string, defaultUnit: Unit = "minute", maxMs = MAX_MUTE_MS): Duration | null {
  const match = /^(\d{1,9})\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = match[2] ? UNIT_ALIASES.get(match[2].toLowerCase()) : defaultUnit;
  if (!unit || amount === 0) return null;
  const ms = amount * MS_PER_UNIT[unit];
  if (ms > maxMs) return null;
  return { ms, label: `${amount} ${unit}${amount === 1 ? "" : "s"}` };
}
