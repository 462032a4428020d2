import Chromium from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

/**
 * A headless Chromium that arrives with `npm ci`: @sparticuz/chromium ships the browser inside its package and
 * unpacks it under the temp folder on first use, so the browser tests need no system package and download
 * nothing. `CHROMIUM_PATH` runs them on another build instead (Debian's, say).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env["CHROMIUM_PATH"] ?? (await Chromium.executablePath());
  return chromium.launch({
    executablePath,
    // Nothing in the tests goes past loopback: Chromium's own background traffic is switched off.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
