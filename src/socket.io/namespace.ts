/** Answers a Socket.IO ack with the callback's arguments. */
export type Ack = (args: unknown[]) => void;

/** How a namespace takes in a connecting client. */
export interface Admission {
  /** The client's Socket.IO socket id; a recovered session keeps its old one. */
  sid: string;
  /** The private session id for connection state recovery; none when the namespace does not recover sessions. */
  pid?: string;
  /** Runs once the client has been told it is connected (a recovered session is sent what it missed here). */
  welcome(): void;
  /** Runs instead when the connection ended before it could be told: what the admission took is given back. */
  abandon?(): void;
}

/**
 * The application behind one Socket.IO namespace, for connections of type `C`. The Socket.IO layer asks it to
 * admit a client connecting the namespace, then calls it for each event, and once when the client leaves it.
 */
export interface Namespace<C> {
  /** May take a moment (a recovering session is looked up); the client is told it is connected once it resolves. */
  connect(connection: C, auth: unknown): Admission | Promise<Admission>;
  event(connection: C, name: string | number, args: unknown[], ack: Ack | null): Promise<void>;
  /** `reason` is Socket.IO's: "client namespace disconnect", "server namespace disconnect", "transport close", ... */
  disconnected(connection: C, reason: string): void;
  /** The connection's deadline passed; the namespace may explain before the connection is closed. */
  expired?(connection: C): void;
  /** A protocol violation is about to close the connection; the namespace may explain it first. */
  violated?(connection: C, reason: string): void;
}
