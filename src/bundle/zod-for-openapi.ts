/**
 * What the Worker's bundle resolves `zod` to (scripts/build-worker.mjs): zod itself, but with a `z` that holds
 * only `ZodType`. @hono/zod-openapi passes zod's `z` namespace to zod-to-openapi, which reads nothing of it but
 * `ZodType` (to add `.openapi()` to its prototype); passing the whole namespace would keep every export of zod
 * in the bundle, its 40-odd locales (260 KB of 730) among them. Our modules import zod as a namespace
 * (`import * as z from "zod"`), which the bundler shakes down to what they use. Types are zod's own.
 */
import { ZodType } from "zod/v4";

export * from "zod/v4";
export const z = { ZodType };
