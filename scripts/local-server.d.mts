export const ROOT: string;
export const DEMO_USERS: Array<{ uname: string; role: "OWNER" | "MOD" | "MEMBER"; authId: number; token: string }>;
export function clientAddress(index: number): string;
export function nextClientAddress(): string;
export function prepareLocalDatabase(options?: { persistTo?: string }): Promise<void>;
export function seededDatabase(): Promise<string>;
export function copySeededDatabase(persistTo: string): Promise<void>;
export function executeSql(options: { persistTo: string; sql: string }): Promise<void>;
export function buildWorker(outdir: string, config?: string, options?: { minify?: boolean }): Promise<string>;
export function wrangler(args: string[], options?: { env?: Record<string, string> }): Promise<{ stdout: string; stderr: string }>;
export function freePort(): Promise<number>;
export function processTree(pid: number): number[];
export function treeRss(pid: number, only?: string): number;
export function startLocalServer(options?: {
  port?: number;
  persistTo?: string;
  vars?: Record<string, string>;
  stdio?: "pipe" | "inherit";
  config?: string;
}): Promise<{ url: string; port: number; pid: number; stop(options?: { discardingState?: boolean }): Promise<void>; output(): string }>;
export function storedMessages(
  url: string,
  adminToken: string,
  appId?: number,
): Promise<Array<{ id: number; channel: string; text: string; created_at: string; user?: { uname: string; auth_id: number; role: string } }>>;
