import type { PacketData } from "../engine.io/packet.js";
import { PacketDecoder } from "./decode.js";
import { encodePacket } from "./encode.js";
import { PacketType, type Packet, type SocketProtocol } from "./packet.js";

/** The Socket.IO state of one connection: plain data, kept in the WebSocket attachment across hibernation. */
export interface SocketIoState {
  protocol: SocketProtocol;
  /** Connected namespace → the Socket.IO socket id the client was given there. */
  namespaces: Record<string, string>;
  /** Connected namespace → the private session id that lets the client recover its session there. */
  pids: Record<string, string>;
  /** How many times the client has connected a namespace on this connection. */
  connects: number;
}

/** What a Socket.IO endpoint needs from the Engine.IO socket below it. */
export interface MessageLink {
  send(payloads: PacketData[]): void;
}

/** A client request the application above Socket.IO has to answer. */
export type Inbound =
  | { kind: "connect"; nsp: string; auth: unknown }
  | { kind: "event"; nsp: string; name: string | number; args: unknown[]; ackId: number | null }
  | { kind: "disconnect"; nsp: string }
  | { kind: "error"; reason: string }
  | { kind: "none" };

/**
 * The Socket.IO protocol of one connection. {@link receive} decodes Engine.IO messages into {@link Inbound}
 * requests; the other methods send packets. Which namespaces exist is the application's business.
 */
export class SocketIoEndpoint {
  constructor(
    readonly state: SocketIoState,
    private readonly link: MessageLink,
    private readonly decoder: PacketDecoder,
  ) {}

  static initialState(protocol: SocketProtocol): SocketIoState {
    return { protocol, namespaces: {}, pids: {}, connects: 0 };
  }

  /** The connection ended: a binary packet it was still sending is let go. */
  discard(): void {
    this.decoder.discard();
  }

  isConnected(nsp: string): boolean {
    return Object.hasOwn(this.state.namespaces, nsp);
  }

  receive(payload: PacketData): Inbound {
    const packet = this.decoder.add(payload);
    if (packet === null) return { kind: "none" };
    if (packet.type === "error") return { kind: "error", reason: packet.reason };
    switch (packet.type) {
      case PacketType.CONNECT:
        if (this.isConnected(packet.nsp)) return { kind: "error", reason: `namespace ${packet.nsp} is already connected` };
        return { kind: "connect", nsp: packet.nsp, auth: packet.data };
      case PacketType.DISCONNECT:
        return this.isConnected(packet.nsp) ? { kind: "disconnect", nsp: packet.nsp } : { kind: "none" };
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT: {
        // Like the reference server, packets for a namespace the client has not joined are ignored.
        if (!this.isConnected(packet.nsp)) return { kind: "none" };
        const [name, ...args] = packet.data as [string | number, ...unknown[]];
        return { kind: "event", nsp: packet.nsp, name, args, ackId: packet.id ?? null };
      }
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        // The server never asks clients for acks, so there is nothing to match one against.
        return { kind: "none" };
      case PacketType.CONNECT_ERROR:
        return { kind: "error", reason: "clients do not send CONNECT_ERROR packets" };
    }
  }

  /**
   * Connects a namespace. A `pid` (connection state recovery) is given to Socket.IO 5 clients only; from then
   * on each event carries an offset, which the client presents with the pid when it reconnects.
   */
  acceptConnect(nsp: string, socketId: string, pid?: string): void {
    this.state.namespaces[nsp] = socketId;
    if (this.state.protocol === 4) return this.send({ type: PacketType.CONNECT, nsp });
    if (pid !== undefined) this.state.pids[nsp] = pid;
    this.send({ type: PacketType.CONNECT, nsp, data: pid === undefined ? { sid: socketId } : { sid: socketId, pid } });
  }

  /** The client left a namespace (after the application was told, so it could still read the ids). */
  leave(nsp: string): void {
    delete this.state.namespaces[nsp];
    delete this.state.pids[nsp];
  }

  /** The private session id of a namespace, when the client was given one. */
  pidOf(nsp: string): string | null {
    return this.state.pids[nsp] ?? null;
  }

  /** Refuses a namespace; both revisions get `{ message }`, as the reference server sends to v4 clients too. */
  rejectConnect(nsp: string, message: string): void {
    this.send({ type: PacketType.CONNECT_ERROR, nsp, data: { message } });
  }

  emit(nsp: string, args: unknown[]): void {
    this.send({ type: PacketType.EVENT, nsp, data: args });
  }

  ack(nsp: string, id: number, args: unknown[]): void {
    this.send({ type: PacketType.ACK, nsp, id, data: args });
  }

  /**
   * Tells the client the server is closing the namespace (socket.io clients then do not reconnect by
   * themselves). The namespace stays listed, so whoever ends the connection next still sees it was connected.
   */
  sendDisconnect(nsp: string): void {
    if (this.isConnected(nsp)) this.send({ type: PacketType.DISCONNECT, nsp });
  }

  private send(packet: Packet): void {
    this.link.send(encodePacket(packet));
  }
}
