import { describe, expect, it } from "vitest";
import { randomId } from "../../src/ids.js";

describe("randomId", () => {
  it("is 20 base64url characters carrying 120 random bits", () => {
    const ids = Array.from({ length: 2_000 }, randomId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Every one of the 64 characters turns up in every position class: no bits are lost in the encoding.
    for (let position = 0; position < 4; position++) {
      expect(new Set(ids.flatMap((id) => [...id].filter((_, index) => index % 4 === position))).size).toBe(64);
    }
  });
});
