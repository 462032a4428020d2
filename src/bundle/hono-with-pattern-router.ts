/**
 * What the Worker's bundle resolves `hono` to (wrangler.toml's `[alias]`): Hono's own "tiny" preset, the same
 * `Hono` with its smallest router, PatternRouter. The default preset carries two routers and the one that picks
 * between them, which every isolate compiles; this Worker's apps have a few routes each (the admin API's 45 the
 * most), which PatternRouter matches in turn.
 */
export { Hono } from "hono/tiny";
