import { chromium, type Browser } from "playwright-core";
import { inject } from "vitest";

/**
 * A headless Chromium that arrives with `npm ci`: @sparticuz/chromium ships the browser inside its package, and
 * the browser project's set-up (test/support/chromium-setup.ts) unpacks it under the temp folder, so the
 * browser tests need no system package and download nothing.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject("chromiumPath"),
    // Nothing in the tests goes past loopback: Chromium's own background traffic is switched off.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
