import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { looksSigned } from "../credentials.js";

/**
 * The wire types of the Socketpot protocol. Each inbound payload is parsed with these schemas before any
 * logic sees it; outbound types are inferred from them so that code, tests and docs name one shape.
 */

export const Subscription = builtOnFirstUse(() => z.enum(["CHAT", "DEPOSITS", "BETS"]));
export type Subscription = z.infer<typeof Subscription>;

export const Role = builtOnFirstUse(() => z.enum(["OWNER", "MOD", "MEMBER"]));
export type Role = z.infer<typeof Role>;

export const MAX_UNAME_LENGTH = 64;
/** A user name as an app's credentials give it and moderation commands name it. */
export const UNAME_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_UNAME_LENGTH}}$`);

export const AuthRequest = builtOnFirstUse(() => z.object({
  app_id: z.number({ error: "app_id must be an integer" }).int("app_id must be an integer").positive(),
  subscriptions: z
    .array(Subscription, { error: "subscriptions must be an array of \"CHAT\", \"DEPOSITS\" or \"BETS\"" })
    .min(1, "subscriptions must name at least one of CHAT, DEPOSITS, BETS")
    .refine((list) => new Set(list).size === list.length, "subscriptions must not repeat a value"),
  access_token: z
    .union([z.guid(), z.string().refine(looksSigned)], { error: "access_token must be a UUID string, or a token the app signed (a JWT)" })
    .nullish(),
  /** The id of the last message the client has: on a reconnect, the response then holds what came after it. */
  resume_from: z.int("resume_from must be a message id").nonnegative("resume_from must be a message id").nullish(),
}, { error: "auth request must be an object { app_id, subscriptions, access_token? }" }));
export type AuthRequest = z.infer<typeof AuthRequest>;

export const CHANNEL_PATTERN = /^[a-z0-9_:-]{1,40}$/;
export const DEFAULT_CHANNEL = "lobby";
export const MAX_TEXT_LENGTH = 300;

/** C0 and C1 control characters (newlines included): chat text is a single line of printable text. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export const NewMessageRequest = builtOnFirstUse(() => z.object(
  {
    channel: z
      .string({ error: "channel must be a string" })
      .regex(CHANNEL_PATTERN, "channel must be 1-40 characters of a-z, 0-9, '_', '-', ':'")
      .nullish()
      .transform((channel) => channel ?? DEFAULT_CHANNEL),
    text: z
      .string({ error: "text must be a string" })
      .trim()
      .min(1, "text must not be empty")
      .refine((text) => [...text].length <= MAX_TEXT_LENGTH, `text must be at most ${MAX_TEXT_LENGTH} characters`)
      .refine((text) => text.isWellFormed(), "text must be valid Unicode (no lone surrogates)")
      .refine((text) => !CONTROL_CHARACTERS.test(text), "text must not contain control characters or newlines"),
  },
  { error: "new_message payload must be an object { text, channel? }" },
));
export type NewMessageRequest = z.infer<typeof NewMessageRequest>;

/**
 * Who an event is for: the subscribers of a feed (for DEPOSITS, only those of one user), or, for an event of the
 * app's own, every session of the app (ALL) or every session of one user (USER).
 */
export const Audience = builtOnFirstUse(() => z.union([
  z.object({ feed: z.enum(["CHAT", "BETS", "ALL"]) }),
  z.object({ feed: z.enum(["DEPOSITS", "USER"]), authId: z.number().int() }),
]));
export type Audience = z.infer<typeof Audience>;

/** The events the server sends of its own (Socketpot's), which no event of an app's may take the name of. */
export const PROTOCOL_EVENTS = [
  "client_error",
  "new_message",
  "user_joined",
  "user_left",
  "unconfirmed_balance_change",
  "balance_change",
  "confirmed_deposit_change",
  "new_bet",
  "message_deleted",
] as const;

/** Names a client cannot be sent an app's event under: Socketpot's, Socket.IO's own, the plain protocol's replies. */
const RESERVED_EVENTS = new Set<string>([
  ...PROTOCOL_EVENTS,
  "auth",
  "chat",
  // Socket.IO's own, on the socket, in every client generation (1.x and 2.x emit their reconnection's there).
  ...["connect", "connect_error", "connect_timeout", "connecting", "disconnect", "disconnecting", "error", "message", "newListener", "removeListener"],
  ...["reconnect", "reconnect_attempt", "reconnect_error", "reconnect_failed", "reconnecting", "ping", "pong"],
  // The plain protocol's replies.
  "ack",
]);

/** An event of the app's own that its backend pushes: a short lowercase identifier, none of the protocol's names. */
export const AppEventName = builtOnFirstUse(() => z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, "event is 1-40 characters of a-z, 0-9 and '_', starting with a letter")
  .refine((name) => !RESERVED_EVENTS.has(name), "event must not be one of the protocol's own event names")
  .brand<"AppEventName">());
export type AppEventName = z.infer<typeof AppEventName>;

/** A connection's session as it is stored (in its WebSocket attachment, for connection state recovery). */
export const StoredSession = builtOnFirstUse(() => z.object({
  user: z.object({ uname: z.string(), auth_id: z.number().int(), role: Role }).nullable(),
  subscriptions: z.array(Subscription),
  tokenDigest: z.string().optional(),
  signedBy: z.object({ kid: z.string(), expiresAt: z.number() }).optional(),
  recovered: z.boolean().optional(),
}));
export type StoredSession = z.infer<typeof StoredSession>;

export interface User {
  uname: string;
  auth_id: number;
  role: Role;
}

/** A chat message (with `user`) or a system message (without) as clients receive it. */
export interface ChatMessage {
  id: number;
  channel: string;
  text: string;
  /** ISO-8601 */
  created_at: string;
  user?: User;
}

export interface AuthResponse {
  user?: User;
  /** `truncated` is set on a resume that missed more messages than are returned. */
  chat?: { messages: ChatMessage[]; userlist: Record<string, User>; truncated?: true };
  subscriptions: Subscription[];
}

/** The most issues one description names: a hostile payload can have one for each of a million array items. */
const DESCRIBED_ISSUES = 3;

/** Turns a zod error into one sentence for `client_error`, of bounded length whatever the payload. */
export function describeIssues(error: z.ZodError): string {
  const described = error.issues
    .slice(0, DESCRIBED_ISSUES)
    .map((issue) => (issue.path.length > 0 && !issue.message.startsWith(String(issue.path[0])) ? `${issue.path.join(".")}: ${issue.message}` : issue.message));
  const more = error.issues.length - described.length;
  return more > 0 ? `${described.join("; ")}; and ${more} more` : described.join("; ");
}

/** The most of a client's event name an error repeats back. */
const QUOTED_NAME_LENGTH = 64;

/** A client-given event name as an error quotes it: at most {@link QUOTED_NAME_LENGTH} characters. */
export function quotedEventName(event: string | number): string {
  const name = String(event);
  return name.length > QUOTED_NAME_LENGTH ? `"${name.slice(0, QUOTED_NAME_LENGTH)}…"` : `"${name}"`;
}
