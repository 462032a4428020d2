import type { User } from "./schemas.js";

/**
 * Who is in the chat: a user is present while at least one of its connections is subscribed to CHAT.
 * join/leave report only the first arrival and the last departure, so several tabs of one user are one presence.
 */
export class Presence {
  private readonly users = new Map<number, { user: User; connections: Set<string> }>();

  /** Adds a connection; true when it is the user's first. */
  join(connectionId: string, user: User): boolean {
    const entry = this.users.get(user.auth_id);
    if (entry) {
      entry.connections.add(connectionId);
      return false;
    }
    this.users.set(user.auth_id, { user, connections: new Set([connectionId]) });
    return true;
  }

  /** Removes a connection; true when the user has no connection left. */
  leave(connectionId: string, user: User): boolean {
    const entry = this.users.get(user.auth_id);
    if (!entry) return true;
    entry.connections.delete(connectionId);
    if (entry.connections.size > 0) return false;
    this.users.delete(user.auth_id);
    return true;
  }

  /** How many users are present: the entries of the userlist. */
  get size(): number {
    return this.users.size;
  }

  has(authId: number): boolean {
    return this.users.has(authId);
  }

  /** The present user named `uname` (case-insensitive), if any (walks the present users: for a command, not hot paths). */
  named(uname: string): User | null {
    const wanted = uname.toLowerCase();
    for (const { user } of this.users.values()) if (user.uname.toLowerCase() === wanted) return user;
    return null;
  }

  userlist(): Record<string, User> {
    const list: Record<string, User> = {};
    for (const { user } of this.users.values()) list[user.uname] = user;
    return list;
  }
}
