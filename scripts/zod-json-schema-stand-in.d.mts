import type { Plugin } from "esbuild";
export function exportedNames(source: string, path: string): string[];
export function jsonSchemaStandIn(source: string, path: string): string;
export function zodJsonSchemaStandIns(root: string): Plugin;
