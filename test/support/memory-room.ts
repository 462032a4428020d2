import { ChatRoom, reaches, type ClientSession, type RoomClient, type RoomHost, type ServerEvent } from "../../src/socketpot/room.js";
import type { Audience } from "../../src/socketpot/schemas.js";
import type { ChatMessage, User } from "../../src/socketpot/schemas.js";
import type { ChatStore, ChatWrite, TokenGrant } from "../../src/socketpot/store.js";

/** An in-memory ChatStore with the D1 store's semantics, for testing the room's logic without workerd. */
export class MemoryStore implements ChatStore {
  readonly tokens = new Map<string, { appId: number; user: User; expiresAt: number | null; revoked: boolean }>();
  readonly messages: Array<ChatMessage & { appId: number }> = [];
  readonly mutes = new Map<number, number>();
  /** Set to make the next calls fail, as a storage outage would. */
  failing = false;
  reads = 0;

  addToken(token: string, appId: number, user: User, options: { expiresAt?: number; revoked?: boolean } = {}): void {
    this.tokens.set(token, { appId, user, expiresAt: options.expiresAt ?? null, revoked: options.revoked ?? false });
  }

  tokenReads = 0;

  async tokenGrant(appId: number, token: string): Promise<TokenGrant | null> {
    this.check();
    this.tokenReads += 1;
    const entry = this.tokens.get(token.toLowerCase());
    if (!entry || entry.appId !== appId || entry.revoked) return null;
    return { user: entry.user, expiresAt: entry.expiresAt };
  }

  async userByUname(appId: number, uname: string): Promise<User | null> {
    this.check();
    for (const entry of this.tokens.values()) {
      if (entry.appId === appId && entry.user.uname.toLowerCase() === uname.toLowerCase()) return entry.user;
    }
    return null;
  }

  async recentMessages(appId: number, limit: number): Promise<ChatMessage[]> {
    this.check();
    this.reads += 1;
    return this.messages
      .filter((message) => message.appId === appId)
      .slice(-limit)
      .map(({ appId: _, ...message }) => message);
  }

  async messagesAfter(appId: number, afterId: number, limit: number): Promise<ChatMessage[]> {
    this.check();
    this.reads += 1;
    return this.messages
      .filter((message) => message.appId === appId && message.id > afterId)
      .slice(0, limit)
      .map(({ appId: _, ...message }) => message);
  }

  async activeMutes(_appId: number, now: number): Promise<Map<number, number>> {
    this.check();
    return new Map([...this.mutes].filter(([, expiresAt]) => expiresAt > now));
  }

  /** While set, writes are committed at once but their callers hear so only when it resolves (a slow D1 reply). */
  writeReply: Promise<void> | null = null;

  async write(appId: number, writes: ChatWrite[]): Promise<ChatMessage[]> {
    this.check();
    const stored = this.commit(appId, writes);
    if (this.writeReply) await this.writeReply;
    return stored;
  }

  private commit(appId: number, writes: ChatWrite[]): ChatMessage[] {
    return writes.map(({ message, moderation }) => {
      if (moderation?.kind === "mute") this.mutes.set(moderation.target.auth_id, moderation.expiresAt);
      if (moderation?.kind === "unmute") this.mutes.delete(moderation.target.auth_id);
      const stored: ChatMessage = {
        id: this.messages.length + 1,
        channel: message.channel,
        text: message.text,
        created_at: new Date(message.createdAt).toISOString(),
        ...(message.user ? { user: message.user } : {}),
      };
      this.messages.push({ ...stored, appId });
      return stored;
    });
  }

  async deleteMessage(appId: number, messageId: number): Promise<{ channel: string } | null> {
    this.check();
    const index = this.messages.findIndex((message) => message.appId === appId && message.id === messageId);
    if (index < 0) return null;
    const [removed] = this.messages.splice(index, 1);
    return { channel: removed!.channel };
  }

  async deleteMute(_appId: number, authId: number): Promise<boolean> {
    this.check();
    return this.mutes.delete(authId);
  }

  private check(): void {
    if (this.failing) throw new Error("storage unavailable");
  }
}

/** A connection that records what it was sent. */
export class RecordingClient implements RoomClient {
  session: ClientSession | null = null;
  authDeadline: number | null = 30_000;
  open = true;
  readonly received: Array<{ event: ServerEvent; payload: unknown }> = [];
  readonly appId = 1;

  constructor(readonly id: string) {}

  expectAuthBy(deadline: number): void {
    this.authDeadline = deadline;
  }

  startSession(session: ClientSession): void {
    this.session = session;
    this.authDeadline = null;
  }

  endSession(): void {
    this.session = null;
  }

  emit(event: ServerEvent, payload: unknown): void {
    this.received.push({ event, payload });
  }

  disconnect(): void {
    this.open = false;
  }

  events(event: ServerEvent): unknown[] {
    return this.received.filter((entry) => entry.event === event).map((entry) => entry.payload);
  }
}

/** A room host over RecordingClients, with a clock the test moves. */
export class MemoryHost implements RoomHost {
  readonly connected: RecordingClient[] = [];
  clock = 1_000_000;
  broadcasts = 0;

  clients(): Iterable<RecordingClient> {
    return this.connected.filter((client) => client.open);
  }

  broadcast(audience: Audience, event: ServerEvent, payload: unknown, except?: RoomClient): number {
    this.broadcasts += 1;
    const recipients = [...this.clients()].filter((client) => client !== except && reaches(audience, client.session));
    for (const recipient of recipients) recipient.emit(event, payload);
    return recipients.length;
  }

  now(): number {
    return this.clock;
  }

  readonly scheduled: Array<{ at: number; task: () => void }> = [];

  later(ms: number, task: () => void): () => void {
    const entry = { at: this.clock + ms, task };
    this.scheduled.push(entry);
    return () => {
      const index = this.scheduled.indexOf(entry);
      if (index >= 0) this.scheduled.splice(index, 1);
    };
  }

  /** Moves the clock and runs what falls due. */
  advance(ms: number): void {
    this.clock += ms;
    const due = this.scheduled.filter((entry) => entry.at <= this.clock);
    this.scheduled.splice(0, this.scheduled.length, ...this.scheduled.filter((entry) => entry.at > this.clock));
    for (const entry of due) entry.task();
  }

  connect(id: string): RecordingClient {
    const client = new RecordingClient(id);
    this.connected.push(client);
    return client;
  }
}

export const USERS = {
  owner: { uname: "owner", auth_id: 1, role: "OWNER" },
  mod: { uname: "mod", auth_id: 2, role: "MOD" },
  alice: { uname: "alice", auth_id: 3, role: "MEMBER" },
  bob: { uname: "bob", auth_id: 4, role: "MEMBER" },
} as const satisfies Record<string, User>;

export const tokenOf = (authId: number) => `00000000-0000-4000-8000-${String(authId).padStart(12, "0")}`;

export const ROOM_OPTIONS = { authTimeoutMs: 30_000, chatRateBurst: 5, chatRatePerSecond: 1, betsPerSecond: 3, storageTimeoutMs: 10_000 };

export function memoryRoom(appId = 1) {
  const store = new MemoryStore();
  for (const user of Object.values(USERS)) store.addToken(tokenOf(user.auth_id), appId, user);
  const host = new MemoryHost();
  const room = new ChatRoom(appId, store, host, ROOM_OPTIONS);
  return { store, host, room };
}
