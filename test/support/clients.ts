import { io } from "socket.io-client";
import { expect } from "vitest";
import { createRequire } from "node:module";
import { nextClientAddress } from "../../scripts/local-server.mjs";
import { demoUser } from "./server.js";

/** What the tests use of a socket, common to socket.io-client 4.x, 2.x and 1.4. */
export interface Client {
  connected: boolean;
  io: { engine: { transport: { name: string }; on(event: string, listener: (...args: any[]) => void): unknown } };
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
  disconnect(): unknown;
}

/**
 * socket.io-client 1.x and 2.x take the global WebSocket where there is one (Node 22 has it), and it cannot send
 * headers such as Origin; loaded while it is hidden, they use the `ws` package they ship, as on the Node of
 * their day (in a browser the page's Origin goes with every request by itself).
 */
function loadLegacyClient(name: "socket.io-client-v1" | "socket.io-client-v2"): typeof import("socket.io-client-v2") {
  const global = globalThis as { WebSocket?: unknown };
  const { WebSocket } = global;
  delete global.WebSocket;
  try {
    return createRequire(import.meta.url)(name);
  } finally {
    global.WebSocket = WebSocket;
  }
}
const io1 = loadLegacyClient("socket.io-client-v1");
const io2 = loadLegacyClient("socket.io-client-v2");

export type ClientVersion = "v4" | "v2" | "v1";

export interface ConnectOptions {
  /** The app named in the socket URL; null names none (the app is then found by `origin`). */
  appId?: number | null;
  transports?: string[];
  /** socket.io-client 4.x (default), 2.x or 1.4 (both Engine.IO v3, Socket.IO protocol v4). */
  version?: ClientVersion;
  /** The Origin header every request of the connection carries, as a browser page at that origin would send. */
  origin?: string;
  /**
   * The client's address (CF-Connecting-IP, which Cloudflare sets). By default each connection has its own, as
   * clients on the internet do: an app's shards take connections by address.
   */
  ip?: string;
}

/** A socket.io-client connection, not yet connected. */
export function open(url: string, options: ConnectOptions = {}): Client {
  const appId = options.appId === undefined ? 1 : options.appId;
  const settings = {
    ...(appId === null ? {} : { query: { app_id: appId } }),
    extraHeaders: { "CF-Connecting-IP": options.ip ?? nextClientAddress(), ...(options.origin === undefined ? {} : { Origin: options.origin }) },
    transports: options.transports ?? ["websocket"],
    reconnection: false,
    forceNew: true,
  };
  if (options.version === "v1") return io1(url, settings);
  return options.version === "v2" ? io2(url, settings) : io(url, settings);
}

/** A socket.io-client connection to app `appId`, connected and ready to emit. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  const socket = open(url, options);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (error: unknown) => reject(connectFailure(error)));
    // socket.io-client 1.x and 2.x report a refused handshake as `error` only.
    socket.once("error", (error: unknown) => reject(connectFailure(error)));
  });
  return socket;
}

/**
 * A failed connect as an Error that says why: socket.io-client's own message ("websocket error", "xhr poll
 * error") names only the transport, and the cause (e.g. "Unexpected server response: 503", the server's JSON
 * body) is in the error's `description` and `context`.
 */
function connectFailure(error: unknown): Error {
  const { message, description, context } = (typeof error === "object" && error !== null ? error : { message: String(error) }) as {
    message?: unknown;
    description?: unknown;
    context?: { status?: unknown; responseText?: unknown };
  };
  const cause = (value: unknown): string => {
    if (value === undefined || value === null) return "";
    if (typeof value !== "object") return String(value);
    const inner = value as { message?: unknown; error?: unknown };
    return inner.message !== undefined ? String(inner.message) : inner.error !== undefined ? cause(inner.error) : JSON.stringify(value);
  };
  const details = [cause(description), context?.status !== undefined ? `HTTP ${String(context.status)}` : "", cause(context?.responseText)].filter(Boolean);
  return new Error(`connect failed: ${String(message ?? error)}${details.length > 0 ? ` (${details.join("; ")})` : ""}`);
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

/** Resolves once `condition` holds, checked every 25 ms; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await pause(25);
  }
}

/**
 * Reads until `done` holds of what was read, every 100 ms, for at most `timeoutMs`; answers the last read either
 * way, so that the caller's expectation says what was seen (a server answering over HTTP, where `until` checks
 * what a client already holds).
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await pause(100);
  }
}

/**
 * Sends a chat message from `sender` and waits until each of `listeners` has received it. The room sends each
 * connection its broadcasts in the order it made them, so once a listener has the sentinel it has every
 * broadcast made before it: "exactly once" and "nobody else" become checks instead of hopes about timing.
 * Returns the sentinel's id, so that records can leave it out.
 */
export async function sentinel(sender: Client, listeners: Client[]): Promise<number> {
  const text = `sentinel ${Date.now()} ${Math.random()}`;
  const arrivals = listeners.map(
    (listener) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sentinel "${text}" did not arrive within 10 s`)), 10_000);
        const heard = (message: { text?: string }) => {
          if (message.text !== text) return;
          clearTimeout(timer);
          resolve();
        };
        listener.on("new_message", heard);
      }),
  );
  const [error, message] = await request(sender, "new_message", { text });
  if (error) throw new Error(`the sentinel was not sent: ${String(error)}`);
  await Promise.all(arrivals);
  return (message as { id: number }).id;
}

/** Asserts the room still serves: a message from `sender` is acked and heard by `listener`. */
export async function expectChatWorks(sender: Client, listener: Client): Promise<void> {
  const heard = next(listener, "new_message");
  const [error, message] = await request(sender, "new_message", { text: `still serving ${Date.now()}` });
  expect(error).toBeNull();
  expect(await heard).toEqual(message);
}
