import * as z from "zod";
import { describe, expect, it } from "vitest";
import { builtOnFirstUse, OnFirstUse } from "../../src/deferred.js";

describe("builtOnFirstUse", () => {
  it("builds the value once, on its first use, not when it is declared", () => {
    let builds = 0;
    const Name = builtOnFirstUse(() => (builds++, z.string().min(2, "too short")));
    expect(builds).toBe(0);
    expect(Name.parse("ab")).toBe("ab");
    expect(Name.safeParse("a").error?.issues[0]?.message).toBe("too short");
    expect(builds).toBe(1);
  });

  it("stands for a schema wherever zod takes one: inside another, in instanceof and `in`, and its own members", () => {
    const Role = builtOnFirstUse(() => z.enum(["OWNER", "MEMBER"]));
    const User = builtOnFirstUse(() => z.object({ role: Role.default("MEMBER"), name: z.string() }));
    expect(User.parse({ name: "ann" })).toEqual({ name: "ann", role: "MEMBER" });
    expect(User.safeParse({ name: "ann", role: "KING" }).success).toBe(false);
    expect(User.extend({ id: z.int() }).parse({ name: "ann", id: 1 })).toEqual({ name: "ann", role: "MEMBER", id: 1 });
    expect(Role).toBeInstanceOf(z.ZodType);
    expect("parse" in User).toBe(true);
    expect(Role.options).toEqual(["OWNER", "MEMBER"]);
    expect(Object.keys(User.shape)).toEqual(["role", "name"]);
  });
});

describe("OnFirstUse", () => {
  it("makes its value once, on the first get, and says whether it has", () => {
    let makes = 0;
    const part = new OnFirstUse(() => ++makes);
    expect(part.made).toBe(false);
    expect([part.get(), part.get()]).toEqual([1, 1]);
    expect(part.made).toBe(true);
    expect(makes).toBe(1);
  });

  it("makes it again on the next get when making it failed", () => {
    let makes = 0;
    const part = new OnFirstUse(() => {
      if (++makes === 1) throw new Error("not yet");
      return makes;
    });
    expect(() => part.get()).toThrow("not yet");
    expect(part.made).toBe(false);
    expect(part.get()).toBe(2);
  });
});
