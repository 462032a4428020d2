import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/socketpot/commands.js";
import { parseDuration } from "../../src/socketpot/duration.js";

describe("parseDuration", () => {
  it.each([
    ["10", 600_000, "10 minutes"],
    ["10m", 600_000, "10 minutes"],
    ["10 mins", 600_000, "10 minutes"],
    ["1 minute", 60_000, "1 minute"],
    ["30s", 30_000, "30 seconds"],
    ["45 secs", 45_000, "45 seconds"],
    ["1 second", 1_000, "1 second"],
    ["2 hours", 7_200_000, "2 hours"],
    ["3hr", 10_800_000, "3 hours"],
    ["1h", 3_600_000, "1 hour"],
    ["1d", 86_400_000, "1 day"],
    ["365 days", 365 * 86_400_000, "365 days"],
    ["2 HOURS", 7_200_000, "2 hours"],
  ])("reads %j as %d ms (%s)", (text, ms, label) => {
    expect(parseDuration(text)).toEqual({ ms, label });
  });

  it.each(["", "0", "0m", "-5", "1.5h", "10 weeks", "m", "366d", "8761h", "9999999999", "10 m x"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe("parseCommand", () => {
  it("reads /mute with and without a duration, and /unmute", () => {
    expect(parseCommand("/mute kate")).toEqual({
      ok: true,
      command: { name: "mute", uname: "kate", duration: { ms: 600_000, label: "10 minutes" } },
    });
    expect(parseCommand("/mute  kate   2 hours")).toEqual({
      ok: true,
      command: { name: "mute", uname: "kate", duration: { ms: 7_200_000, label: "2 hours" } },
    });
    expect(parseCommand("/unmute kate")).toEqual({ ok: true, command: { name: "unmute", uname: "kate" } });
  });

  it("reads /ban with and without a duration, /unban, /kick and /slow", () => {
    expect(parseCommand("/ban kate")).toEqual({ ok: true, command: { name: "ban", uname: "kate", duration: null } });
    expect(parseCommand("/ban kate 2d")).toEqual({ ok: true, command: { name: "ban", uname: "kate", duration: { ms: 172_800_000, label: "2 days" } } });
    expect(parseCommand("/unban kate")).toEqual({ ok: true, command: { name: "unban", uname: "kate" } });
    expect(parseCommand("/kick kate")).toEqual({ ok: true, command: { name: "kick", uname: "kate" } });
    expect(parseCommand("/slow 30")).toEqual({ ok: true, command: { name: "slow", interval: { ms: 30_000, label: "30 seconds" } } });
    expect(parseCommand("/slow 2 min")).toEqual({ ok: true, command: { name: "slow", interval: { ms: 120_000, label: "2 minutes" } } });
    expect(parseCommand("/slow 1h")).toEqual({ ok: true, command: { name: "slow", interval: { ms: 3_600_000, label: "1 hour" } } });
    expect(parseCommand("/slow off")).toEqual({ ok: true, command: { name: "slow", interval: null } });
  });

  it.each(["/", "/warn kate", "/ban", "/ban kate forever", "/ban kate 366d", "/unban kate 1d", "/kick", "/kick kate 5m", "/slow", "/slow 0", "/slow 61m", "/slow on", "/mute", "/mute <b>", "/mute kate forever", "/unmute", "/unmute kate 10m", "/MUTE kate"])(
    "rejects %j with a reason",
    (text) => {
      const parsed = parseCommand(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason.length).toBeGreaterThan(10);
    },
  );
});
