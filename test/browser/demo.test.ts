import { mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The demo page in a real browser (Chromium from npm, driven by playwright-core): two users chat, one mutes the
 * other, and the muted one sees why its message was refused.
 */
const OUTPUT = new URL("../../test-output/", import.meta.url);

let server: TestServer;
let browser: Browser;

const INGEST_TOKEN = "browser-test-ingest-token";

beforeAll(async () => {
  server = await startTestServer({ INGEST_TOKEN });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openAs(user: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(`${server.url}/?user=${user}`);
  await expect.poll(() => page.locator("#status").textContent()).toMatch(/^Online as/);
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#composer button");
}

describe("demo page", () => {
  it("lets two users chat, shows presence, a muted user's error, and a deposit pushed through ingest", async () => {
    const owner = await openAs("owner");
    const bob = await openAs("bob");
    await expect.poll(() => owner.locator("#online").textContent()).toContain("bob (MEMBER)");

    await say(bob, "hello <b>owner</b>");
    await expect.poll(() => owner.locator("#messages li").last().textContent()).toContain("hello <b>owner</b>");
    expect(await owner.locator("#messages b").count()).toBe(0);

    await say(owner, "/mute bob 10m");
    await expect.poll(() => bob.locator("#messages .system").last().textContent()).toBe("owner muted bob for 10 minutes");
    await say(bob, "let me speak");
    await expect.poll(() => bob.locator("#error").textContent()).toBe("Not sent: USER_IS_MUTED");
    expect(await bob.locator("#error").isVisible()).toBe(true);

    const deposit = { id: `browser-deposit-${Date.now()}`, type: "unconfirmed_balance_change", auth_id: 4, balance: 5000, diff: 5000 };
    const published = await fetch(`${server.url}/v1/apps/1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(deposit),
    });
    expect(published.status).toBe(202);
    await expect.poll(() => bob.locator("#balance").textContent()).toBe("Balance 5,000 sat");
    expect(await bob.locator("#deposits li").first().textContent()).toBe("+5,000 sat (unconfirmed)");
    expect(await owner.locator("#balance").textContent()).toBe("No balance events yet.");

    await mkdir(OUTPUT, { recursive: true });
    await bob.screenshot({ path: new URL("demo-muted.png", OUTPUT).pathname, fullPage: true });
    await owner.screenshot({ path: new URL("demo-owner.png", OUTPUT).pathname, fullPage: true });
  });
});
