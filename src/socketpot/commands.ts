import { DEFAULT_MUTE, MAX_MUTE_MS, parseDuration, type Duration } from "./duration.js";
import { UNAME_PATTERN } from "./schemas.js";

/** Moderation commands: chat messages whose text starts with `/`. */
export type Command = { name: "mute"; uname: string; duration: Duration } | { name: "unmute"; uname: string };

export type CommandParse = { ok: true; command: Command } | { ok: false; reason: string };

export function isCommand(text: string): boolean {
  return text.startsWith("/");
}

const USAGE = "usage: /mute <uname> [duration] or /unmute <uname>";

export function parseCommand(text: string): CommandParse {
  const [name = "", uname = "", ...rest] = text.slice(1).trim().split(/\s+/);
  if (name !== "mute" && name !== "unmute") return { ok: false, reason: `unknown command /${name}; ${USAGE}` };
  if (!UNAME_PATTERN.test(uname)) return { ok: false, reason: `/${name} needs a user name; ${USAGE}` };
  if (name === "unmute") {
    return rest.length === 0 ? { ok: true, command: { name, uname } } : { ok: false, reason: `/unmute takes only a user name; ${USAGE}` };
  }
  if (rest.length === 0) return { ok: true, command: { name, uname, duration: DEFAULT_MUTE } };
  const duration = parseDuration(rest.join(" "));
  if (!duration) {
    return {
      ok: false,
      reason: `invalid duration "${rest.join(" ")}": a positive number with an optional unit (s, m, h, d), at most ${MAX_MUTE_MS / 86_400_000} days`,
    };
  }
  return { ok: true, command: { name, uname, duration } };
}
