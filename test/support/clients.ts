import { io } from "socket.io-client";
import { expect } from "vitest";
import legacyIo from "socket.io-client-v2";
import { demoUser } from "./server.js";

/** What the tests use of a socket, common to socket.io-client 4.x and 2.x. */
export interface Client {
  connected: boolean;
  io: { engine: { transport: { name: string }; on(event: string, listener: (...args: any[]) => void): unknown } };
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(): unknown;
}

export type ClientVersion = "v4" | "v2";

export interface ConnectOptions {
  appId?: number;
  transports?: string[];
  /** socket.io-client 4.x (default) or 2.x (Engine.IO v3, Socket.IO protocol v4). */
  version?: ClientVersion;
}

/** A socket.io-client connection to app `appId`, connected and ready to emit. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  const settings = {
    query: { app_id: options.appId ?? 1 },
    transports: options.transports ?? ["websocket"],
    reconnection: false,
    forceNew: true,
  };
  const socket: Client = options.version === "v2" ? legacyIo(url, settings) : io(url, settings);
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
export async function join(
  url: string,
  uname: string | null,
  subscriptions: string[] = ["CHAT"],
  options: ConnectOptions = {},
): Promise<Joined> {
  const socket = await connect(url, options);
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

/** Asserts the room still serves: a message from `sender` is acked and heard by `listener`. */
export async function expectChatWorks(sender: Client, listener: Client): Promise<void> {
  const heard = next(listener, "new_message");
  const [error, message] = await request(sender, "new_message", { text: `still serving ${Date.now()}` });
  expect(error).toBeNull();
  expect(await heard).toEqual(message);
}
