/** Answers a Socket.IO ack with the callback's arguments. */
export type Ack = (args: unknown[]) => void;

/**
 * The application behind one Socket.IO namespace, for connections of type `C`. The Socket.IO layer calls it
 * once a client has connected the namespace, for each event, and once when the client leaves it.
 */
export interface Namespace<C> {
  connected(connection: C, auth: unknown): void;
  event(connection: C, name: string | number, args: unknown[], ack: Ack | null): Promise<void>;
  disconnected(connection: C): void;
  /** The connection's deadline passed; the namespace may explain before the connection is closed. */
  expired?(connection: C): void;
  /** A protocol violation is about to close the connection; the namespace may explain it first. */
  violated?(connection: C, reason: string): void;
}
