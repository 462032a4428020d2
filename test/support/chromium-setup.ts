import Chromium from "@sparticuz/chromium";
import type { TestProject } from "vitest/node";

/**
 * The browser tests' Chromium, unpacked once before any of their files runs. Each file used to unpack it on its
 * own: @sparticuz/chromium writes it to one path under the temp folder when it is not there yet, so two files
 * starting together could both write it, and one launched it while the other still had it open for writing
 * (`spawn ETXTBSY`). `CHROMIUM_PATH` runs them on another build instead (Debian's, say).
 */
export default async function unpackChromium(project: TestProject): Promise<void> {
  project.provide("chromiumPath", process.env["CHROMIUM_PATH"] ?? (await Chromium.executablePath()));
}

declare module "vitest" {
  export interface ProvidedContext {
    chromiumPath: string;
  }
}
