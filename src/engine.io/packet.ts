/** Engine.IO packets, shared by the encoder and the decoder. */

/** The Engine.IO revision a connection speaks, from the `EIO` query parameter. */
export type EngineProtocol = 3 | 4;
export const ENGINE_PROTOCOLS: readonly EngineProtocol[] = [3, 4];

export type PacketType = "open" | "close" | "ping" | "pong" | "message" | "upgrade" | "noop";

export const PACKET_CODES: Readonly<Record<PacketType, string>> = {
  open: "0",
  close: "1",
  ping: "2",
  pong: "3",
  message: "4",
  upgrade: "5",
  noop: "6",
};

export const PACKET_TYPES_BY_CODE: ReadonlyMap<string, PacketType> = new Map(
  Object.entries(PACKET_CODES).map(([type, code]) => [code, type as PacketType]),
);

export type PacketData = string | Uint8Array;

export interface Packet {
  type: PacketType;
  data?: PacketData;
}

/** What the decoder returns for a frame it cannot read: a value, so the caller chooses how to close. */
export interface DecodeError {
  type: "error";
  reason: string;
}

export type Frame = string | Uint8Array;

/** The handshake body sent in the `open` packet. */
export interface Handshake {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}
