import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { TEST_SHARDS } from "../support/server.js";

/** `npm run soak` at a small size with frequent drops, so that the script and what it checks stay working. */
it("passes a small soak: socket.io and plain clients, random drops, nothing lost, duplicated or reordered", async () => {
  const script = fileURLToPath(new URL("../../soak/run.mjs", import.meta.url));
  const args = [script, "--clients", "24", "--senders", "6", "--messages", "600", "--churners", "10", "--drop-ms", "300", "--max-seconds", "120", "--shards", TEST_SHARDS];
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out, stderr: err }),
    );
  });
  // A failed soak prints why (lost messages, its server's output) on stderr: it goes with the failure.
  if (code !== 0) console.error(`soak exited with ${code}; its stderr:\n${stderr.slice(-20_000)}\nthe end of its report:\n${stdout.slice(-5_000)}`);
  const summary = stdout.slice(stdout.indexOf("clients (socket.io / plain)"));
  expect(summary).toContain("soak passed");
  const count = (label: string) => Number(new RegExp(`^${label}\\s+(\\d+)`, "m").exec(summary)?.[1]);
  expect(count("reconnects \\(socket.io recovered / not recovered / plain resumed\\)")).toBeGreaterThan(0);
  expect(code).toBe(0);
}, 150_000);
