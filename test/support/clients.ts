import { io, type Socket } from "socket.io-client";
import { demoUser } from "./server.js";

export type Client = Socket;

/** A socket.io-client 4.x connection to app `appId`, connected and ready to emit. */
export async function connect(url: string, options: { appId?: number; transports?: string[] } = {}): Promise<Client> {
  const socket = io(url, {
    query: { app_id: options.appId ?? 1 },
    transports: options.transports ?? ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

/** Emits and waits for the ack's arguments, `[errString, value]`. */
export function request(socket: Client, event: string, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} within 10 s`)), 10_000);
    socket.emit(event, ...args, (...reply: unknown[]) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

export interface Joined {
  socket: Client;
  response: Record<string, unknown>;
}

/** Connects and authenticates as a demo user (or anonymously with null). */
export async function join(url: string, uname: string | null, subscriptions: string[] = ["CHAT"]): Promise<Joined> {
  const socket = await connect(url);
  const access_token = uname === null ? undefined : demoUser(uname).token;
  const [error, response] = await request(socket, "auth", { app_id: 1, access_token, subscriptions });
  if (error) throw new Error(`auth failed: ${String(error)}`);
  return { socket, response: response as Record<string, unknown> };
}

/** Resolves with the next payload of `event` on the socket. */
export function next<T = unknown>(socket: Client, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/** Records every payload of the given events, for asserting what did (and did not) arrive. */
export function record(socket: Client, ...events: string[]): Record<string, unknown[]> {
  const seen: Record<string, unknown[]> = Object.fromEntries(events.map((event) => [event, []]));
  for (const event of events) socket.on(event, (payload: unknown) => seen[event]?.push(payload));
  return seen;
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
