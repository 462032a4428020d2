import { serializedBytesBound } from "../rpc-bytes.js";
import type { OrderingCall } from "./ordering.js";
import { HISTORY_LENGTH, RESUME_BYTES } from "./room.js";
import { MAX_TEXT_LENGTH, MAX_UNAME_LENGTH, type ChatMessage, type User } from "./schemas.js";

/** A string of `length` code units, each of two bytes in V8's serialization. */
const wide = (length: number) => "\u4e00".repeat(length);

const largestUser: User = { uname: wide(MAX_UNAME_LENGTH), auth_id: Number.MAX_SAFE_INTEGER, role: "MEMBER" };

/** The most one chat message takes: the longest channel, user name and text (astral characters, two units each). */
export const MESSAGE_BYTES = serializedBytesBound({
  id: Number.MAX_SAFE_INTEGER,
  channel: wide(40),
  text: wide(2 * MAX_TEXT_LENGTH),
  created_at: new Date(0).toISOString(),
  user: largestUser,
} satisfies ChatMessage);

/** The most one user of an auth answer's `userlist` takes. */
export const USERLIST_ENTRY_BYTES = serializedBytesBound({ [largestUser.uname]: largestUser });

/**
 * The most any other answer takes: an error (its reason is bounded, `describeIssues`), one chat message, a
 * session granted, a feed mark, an answer to `leave`.
 */
export const SMALL_ANSWER_BYTES = 16_384;

/** The most a refusal's reason takes (its key and a sentence of at most 128 characters), beyond its connection's id. */
const REFUSAL_REASON_BYTES = serializedBytesBound({ reason: wide(128) });

/**
 * The most the broadcasts a recovered session missed may take; a client that missed more starts a new session.
 * Two minutes of an app's broadcasts to one session are a few kilobytes; this leaves room for bursts.
 */
export const RECOVERED_BYTES = 1024 * 1024;

/** The most the history an auth answer carries may take. */
const HISTORY_BYTES = HISTORY_LENGTH * MESSAGE_BYTES;

/** Whether a (not yet parsed) auth request asks to resume, which may return up to {@link RESUME_BYTES} of messages. */
const resumes = (payload: unknown) => typeof payload === "object" && payload !== null && "resume_from" in payload && payload.resume_from != null;

/**
 * An upper bound on the bytes of the room's answer to `call`, known before the room runs it: an auth answer
 * carries the history (or a resume's messages) and the userlist of the `usersOnline` users.
 */
export function answerBytesBound(call: OrderingCall, usersOnline: number): number {
  switch (call.kind) {
    case "request": {
      if (call.event !== "auth") return SMALL_ANSWER_BYTES;
      const messages = resumes(call.payload) ? Math.max(HISTORY_BYTES, RESUME_BYTES) : HISTORY_BYTES;
      return SMALL_ANSWER_BYTES + messages + usersOnline * USERLIST_ENTRY_BYTES;
    }
    case "recover":
      return SMALL_ANSWER_BYTES + RECOVERED_BYTES;
    case "countConnections":
      // A refusal for each connection opened at most: its id, and a reason instead of its address.
      return SMALL_ANSWER_BYTES + serializedBytesBound(call.report.opened) + call.report.opened.length * REFUSAL_REASON_BYTES;
    case "leave":
      return SMALL_ANSWER_BYTES;
  }
}
