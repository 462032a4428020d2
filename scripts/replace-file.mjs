import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes a file whole or not at all: each integration test file's `wrangler dev` runs the build, two at a time,
 * and one may be reading (or serving) what the other's build is writing.
 */
export async function replaceFile(path, contents) {
  await mkdir(dirname(path), { recursive: true });
  const writing = `${path}.${process.pid}.tmp`;
  await writeFile(writing, contents);
  await rename(writing, path);
}
