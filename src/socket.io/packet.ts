/** Socket.IO packets, shared by the encoder and the decoder. */

/** The Socket.IO protocol revision: 5 for socket.io 3.x/4.x clients (Engine.IO 4), 4 for 1.x/2.x (Engine.IO 3). */
export type SocketProtocol = 4 | 5;

export const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export interface Packet {
  type: PacketType;
  nsp: string;
  id?: number;
  data?: unknown;
}

export interface DecodeError {
  type: "error";
  reason: string;
}

/** Event names a client may not emit, because the client library uses them itself. */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/** How many binary attachments one packet may announce; each attachment is also bounded by maxPayload. */
export const MAX_ATTACHMENTS = 32;
