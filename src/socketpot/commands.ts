import { DEFAULT_MUTE, MAX_MUTE_MS, parseDuration, type Duration } from "./duration.js";
import { UNAME_PATTERN } from "./schemas.js";
import { MAX_SLOW_MODE_MS } from "./slow-mode.js";

/**
 * Moderation commands: chat messages whose text starts with `/`. Each names a user, but `/slow`, which acts on
 * the channel it is sent in. A ban without a duration is for good; `/slow` with `null` ends slow mode.
 */
export type Command =
  | { name: "mute"; uname: string; duration: Duration }
  | { name: "ban"; uname: string; duration: Duration | null }
  | { name: "unmute" | "unban" | "kick"; uname: string }
  | { name: "slow"; interval: Duration | null };

export type CommandParse = { ok: true; command: Command } | { ok: false; reason: string };

export function isCommand(text: string): boolean {
  return text.startsWith("/");
}

const USAGE = "commands: /mute <uname> [duration], /unmute <uname>, /ban <uname> [duration], /unban <uname>, /kick <uname>, /slow <interval> or /slow off";
const DURATION_FORM = "a positive whole number with an optional unit (s, m, h, d)";

export function parseCommand(text: string): CommandParse {
  const [name = "", ...args] = text.slice(1).trim().split(/\s+/);
  const failed = (reason: string): CommandParse => ({ ok: false, reason });
  if (name === "slow") return parseSlow(args.join(" "));
  if (name !== "mute" && name !== "ban" && name !== "unmute" && name !== "unban" && name !== "kick") return failed(`unknown command /${name}; ${USAGE}`);
  const [uname = "", ...rest] = args;
  if (!UNAME_PATTERN.test(uname)) return failed(`/${name} needs a user name; ${USAGE}`);
  if (name === "unmute" || name === "unban" || name === "kick") {
    return rest.length === 0 ? { ok: true, command: { name, uname } } : failed(`/${name} takes only a user name; ${USAGE}`);
  }
  if (rest.length === 0) return { ok: true, command: name === "mute" ? { name, uname, duration: DEFAULT_MUTE } : { name, uname, duration: null } };
  const duration = parseDuration(rest.join(" "));
  if (!duration) return failed(`invalid duration "${rest.join(" ")}": ${DURATION_FORM} (minutes when omitted), at most ${MAX_MUTE_MS / 86_400_000} days`);
  return { ok: true, command: { name, uname, duration } };
}

/** `/slow 30`, `/slow 2m` (a bare number is in seconds, as slow mode's admin API counts), or `/slow off`. */
function parseSlow(argument: string): CommandParse {
  if (argument === "off") return { ok: true, command: { name: "slow", interval: null } };
  const interval = argument === "" ? null : parseDuration(argument, "second", MAX_SLOW_MODE_MS);
  if (!interval) {
    return { ok: false, reason: `/slow takes an interval, ${DURATION_FORM} (seconds when omitted), at most ${MAX_SLOW_MODE_MS / 60_000} minutes, or "off"; ${USAGE}` };
  }
  return { ok: true, command: { name: "slow", interval } };
}
