import type { Unstable_Config } from "wrangler";

export function deadLetterQueues(config: Unstable_Config): Array<{ source: string; deadLetters: string }>;
export function decodedBody(message: { body: string; metadata?: Record<string, unknown> }): { body: unknown; contentType: "json" | "text" } | null;
export function pushBatches<T extends { body: unknown }>(items: T[]): T[][];
export function run(args: string[], environment?: Record<string, string | undefined>, out?: (line: string) => void): Promise<number>;
export function printable(text: string, max?: number): string;
