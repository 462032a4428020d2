import { copyFile, mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/browser.js";
import { connect, join, next, request, type Joined } from "../support/clients.js";
import { adminCall } from "../support/http.js";
import { localSecret, startTestServer, type TestServer } from "../support/server.js";

/**
 * The operators' console in a real Chromium against a real server: signing in (and a wrong token), the demo
 * app's charts following a client that chats, and the console's actions reaching connected clients. Its
 * screenshots, on a desktop and on a phone-sized screen, are the ones docs/operations.md shows.
 */
const OUTPUT = new URL("../../test-output/", import.meta.url);

let server: TestServer;
let browser: Browser;
let adminToken: string;
const joined: Joined[] = [];

beforeAll(async () => {
  adminToken = await localSecret("ADMIN_TOKEN");
  server = await startTestServer({ ADMIN_TOKEN: adminToken, CHAT_RATE_BURST: "1000" });
  browser = await launchChromium();
  await mkdir(OUTPUT, { recursive: true });
});

afterAll(async () => {
  for (const each of joined) each.socket.disconnect();
  await browser?.close();
  await server?.stop();
});

/** A console page; anything the page logs as an error (a script error, a blocked resource) fails the test. */
async function consolePage(viewport = { width: 1200, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport, locale: "en-US", timezoneId: "UTC" });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${server.url}/console`);
  return { page, problems };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.fill("#token", token);
  await page.click("#sign-in-form button");
}

async function chat(uname: string): Promise<Joined> {
  const user = await join(server.url, uname);
  joined.push(user);
  return user;
}

/** The sum of one series of one chart, as uPlot holds it. */
const plotted = (page: Page, chart: number, series: number): Promise<number> =>
  // `charts` is a top-level binding of the page's script: reachable by name from code run in the page.
  page.evaluate(`(charts[${chart}]?.data[${series}] ?? []).reduce((sum, value) => sum + (value ?? 0), 0)`);

describe("the console", () => {
  it("refuses a wrong token with a message that says what to do, and keeps no token after signing out", async () => {
    // The page that holds the token runs only its own scripts and cannot be framed.
    const served = await fetch(`${server.url}/console/`);
    expect(served.headers.get("Content-Security-Policy")).toContain("script-src 'self';");
    expect(served.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    const { page, problems } = await consolePage();
    await signIn(page, "not-the-admin-token");
    await expect.poll(() => page.locator("#problem").textContent()).toContain("The server did not accept this token");
    expect(await page.locator("#sign-in").isVisible()).toBe(true);
    await page.screenshot({ path: new URL("console-wrong-token.png", OUTPUT).pathname });

    await signIn(page, adminToken);
    await expect.poll(() => page.locator("#who").textContent()).toBe("Signed in as the operator");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    await page.click("#sign-out");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(problems.filter((problem) => !problem.includes("401"))).toEqual([]);
    await page.close();
  });

  it("lists the apps, and shows the demo app's charts moving while a client chats", async () => {
    const { page, problems } = await consolePage();
    await signIn(page, adminToken);
    await expect.poll(() => page.locator("#app-list tbody tr").first().textContent()).toContain("Demo");
    await page.click("#app-list tbody tr:first-child a");
    await expect.poll(() => page.locator("#app-title").textContent()).toContain("(app 1)");
    await expect.poll(() => page.locator("#charts figure").count()).toBe(4);
    const before = await plotted(page, 1, 1);

    const owner = await chat("owner");
    for (const text of ["first", "second", "third"]) expect((await request(owner.socket, "new_message", { text }))[0]).toBeNull();
    // The console refreshes itself: the chat chart and the live figures follow without a reload.
    await expect.poll(() => plotted(page, 1, 1), { timeout: 20_000 }).toBe(before + 3);
    await expect.poll(() => page.locator("#figure-connections").textContent()).toBe("1");
    await expect.poll(() => page.locator("#messages li .text").first().textContent()).toBe("third");
    await page.screenshot({ path: new URL("console-app.png", OUTPUT).pathname, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("deletes a message for connected clients, lifts a mute and revokes a token, and works on a phone-sized screen", async () => {
    const { page, problems } = await consolePage({ width: 390, height: 844 });
    const owner = await chat("owner");
    const alice = await chat("alice");
    const [, regrettable] = (await request(owner.socket, "new_message", { text: "regrettable" })) as [null, { id: number }];
    await signIn(page, adminToken);
    await page.goto(`${server.url}/console#/apps/1`);
    await expect.poll(() => page.locator("#messages li .text").first().textContent()).toBe("regrettable");

    const deleted = next(alice.socket, "message_deleted");
    const row = page.locator(`#messages li[data-id="${regrettable.id}"]`);
    await row.locator("button").click();
    await row.locator("button", { hasText: "Confirm delete" }).click();
    expect(await deleted).toEqual({ id: regrettable.id, channel: "lobby" });
    await expect.poll(() => row.count()).toBe(0);

    expect((await request(owner.socket, "new_message", { text: "/mute bob 10m" }))[0]).toBeNull();
    await page.reload();
    const mute = page.locator('#mutes li[data-auth-id="4"]');
    await expect.poll(() => mute.textContent()).toContain("bob, by owner");
    await page.screenshot({ path: new URL("console-phone.png", OUTPUT).pathname, fullPage: true });
    await mute.locator("button").click();
    await expect.poll(() => mute.count()).toBe(0);
    expect((await adminCall(server.url, adminToken, "GET", "/apps/1/mutes")).json).toEqual({ mutes: [] });

    const issued = (await adminCall(server.url, adminToken, "POST", "/apps/1/tokens", { auth_id: 77, uname: "temp", role: "MEMBER" })).json!;
    await page.reload();
    const token = page.locator(`#tokens li[data-id="${issued["id"]}"]`);
    await expect.poll(() => token.textContent()).toContain("temp (MEMBER)");
    await token.locator("button").click();
    await token.locator("button", { hasText: "Confirm revoke" }).click();
    await expect.poll(() => token.count()).toBe(0);
    const refused = await connect(server.url);
    joined.push({ socket: refused, response: {} });
    // A token that grants no user (revoked) signs in anonymously, as the Socketpot contract has it.
    const [error, session] = await request(refused, "auth", { app_id: 1, access_token: issued["token"], subscriptions: ["CHAT"] });
    expect(error).toBeNull();
    expect(session).not.toHaveProperty("user");
    // Settings: what is saved is what was changed.
    await page.fill("#setting-retention", "30");
    await page.click("#settings button");
    await expect.poll(() => page.locator("#settings-saved").textContent()).toContain("Saved");
    expect((await adminCall(server.url, adminToken, "GET", "/apps/1")).json).toMatchObject({ name: "Demo", retention_days: 30 });
    // Nothing on the phone-sized page is wider than the screen.
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows only the app it was last asked for when an operator switches apps while one is loading", async () => {
    const other = (await adminCall(server.url, adminToken, "POST", "/apps", { name: "Other app" })).json!;
    const { page, problems } = await consolePage();
    await signIn(page, adminToken);
    await expect.poll(() => page.locator("#app-list tbody tr").count()).toBeGreaterThan(1);
    // App 1's answers come slowly (a slow network), so they arrive after the other app's.
    await page.route(/\/v1\/admin\/apps\/1(\/|\?|$)/, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await route.continue().catch(() => {});
    });
    await page.evaluate(`location.hash = "#/apps/1"`);
    await page.evaluate(`location.hash = "#/apps/${other["id"]}"`);
    await expect.poll(() => page.locator("#app-title").textContent()).toBe(`Other app (app ${other["id"]})`);
    await expect.poll(() => page.locator("#messages li").textContent()).toBe("No messages yet.");
    await expect.poll(() => page.locator("#setting-name").inputValue()).toBe("Other app");
    // After app 1's late answers came in, it still shows the other app, and its settings.
    await page.waitForTimeout(2_500);
    expect(await page.locator("#messages li").textContent()).toBe("No messages yet.");
    expect(await page.locator("#setting-name").inputValue()).toBe("Other app");
    expect(await page.locator("#app-title").textContent()).toBe(`Other app (app ${other["id"]})`);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("signs in with an app key, shows what its scopes allow, and says which scope the rest needs", async () => {
    const key = (await adminCall(server.url, adminToken, "POST", "/apps/1/keys", { scopes: ["stats:read", "messages:read"] })).json!["key"] as string;
    const { page } = await consolePage();
    await signIn(page, key);
    await expect.poll(() => page.locator("#who").textContent()).toContain("a key of app 1");
    await expect.poll(() => page.locator("#figure-shards").textContent()).toContain("1");
    await expect.poll(() => page.locator("#mutes-panel [data-error]").textContent()).toContain("lacks the moderation:write scope");
    await expect.poll(() => page.locator("#keys-panel [data-error]").textContent()).toContain("Only the operator's admin token");
    await expect.poll(() => page.locator("#settings input").first().isDisabled()).toBe(true);
    await page.close();
  });
});

/** The screenshots the docs show are this test's: copied over when it runs with SOCKETPOT_DOC_SCREENSHOTS=1. */
afterAll(async () => {
  if (process.env["SOCKETPOT_DOC_SCREENSHOTS"] !== "1") return;
  for (const name of ["console-app.png", "console-phone.png", "console-wrong-token.png"]) {
    await copyFile(new URL(name, OUTPUT), new URL(`../../docs/images/${name}`, import.meta.url));
  }
});
