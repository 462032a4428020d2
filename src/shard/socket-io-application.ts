import type { PacketData } from "../engine.io/packet.js";
import { CloseCode } from "../engine.io/socket.js";
import type { Namespace } from "../socket.io/namespace.js";
import type { Connection } from "./connection.js";
import type { EngineApplication } from "./engine-room.js";

/**
 * How many times one connection may connect a namespace. Clients connect once, or again after leaving; each
 * connect is a session for the app to check, so a loop of leaving and connecting again is cut off.
 */
const MAX_NAMESPACE_CONNECTS = 10;

/**
 * Socket.IO above Engine.IO: decodes each connection's messages with its endpoint and hands connects, events
 * and disconnects to the namespace they name. Unknown namespaces get `Invalid namespace`.
 */
export class SocketIoApplication implements EngineApplication {
  constructor(
    private readonly namespaces: Readonly<Record<string, Namespace<Connection>>>,
    private readonly connectTimeoutMs: number,
  ) {}

  async opened(connection: Connection): Promise<void> {
    // Socket.IO v4 (socket.io-client 1.x/2.x) clients are in the main namespace as soon as they connect.
    if (connection.socketIo.state.protocol === 4) await this.connect(connection, "/", {});
  }

  async message(connection: Connection, data: PacketData): Promise<void> {
    const inbound = connection.socketIo.receive(data);
    switch (inbound.kind) {
      case "none":
        return;
      case "error":
        return this.violated(connection, CloseCode.PROTOCOL_ERROR, `malformed Socket.IO packet: ${inbound.reason}`);
      case "connect":
        if (this.namespaces[inbound.nsp]) return this.connect(connection, inbound.nsp, inbound.auth ?? {});
        connection.socketIo.rejectConnect(inbound.nsp, "Invalid namespace");
        return;
      case "disconnect":
        this.namespaces[inbound.nsp]?.disconnected(connection, "client namespace disconnect");
        connection.socketIo.leave(inbound.nsp);
        // A v4 client leaving the main namespace is done; a v5 client may connect again, within the timeout.
        if (connection.socketIo.state.protocol === 4 && inbound.nsp === "/") {
          connection.engine.close(CloseCode.NORMAL, "client namespace disconnect");
        } else if (Object.keys(connection.socketIo.state.namespaces).length === 0) {
          connection.state.deadline = Date.now() + this.connectTimeoutMs;
        }
        return;
      case "event": {
        const { ackId, nsp } = inbound;
        const ack = ackId === null ? null : (args: unknown[]) => connection.socketIo.ack(nsp, ackId, args);
        await this.namespaces[nsp]?.event(connection, inbound.name, inbound.args, ack);
        return;
      }
    }
  }

  /** No namespace connected in time: closed. Otherwise the namespaces decide (Socketpot: auth not received). */
  expired(connection: Connection): void {
    const connected = Object.keys(connection.socketIo.state.namespaces);
    if (connected.length === 0) return connection.engine.close(CloseCode.NORMAL, "connection timeout");
    for (const nsp of connected) this.namespaces[nsp]?.expired?.(connection);
  }

  violated(connection: Connection, code: number, reason: string): void {
    for (const nsp of Object.keys(connection.socketIo.state.namespaces)) this.namespaces[nsp]?.violated?.(connection, reason);
    connection.engine.close(code, reason);
  }

  ended(connection: Connection, reason: string): void {
    for (const nsp of Object.keys(connection.socketIo.state.namespaces)) this.namespaces[nsp]?.disconnected(connection, reason);
  }

  private async connect(connection: Connection, nsp: string, auth: unknown): Promise<void> {
    const namespace = this.namespaces[nsp];
    if (!namespace) return;
    connection.socketIo.state.connects += 1;
    if (connection.socketIo.state.connects > MAX_NAMESPACE_CONNECTS) {
      return this.violated(connection, CloseCode.POLICY_VIOLATION, `more than ${MAX_NAMESPACE_CONNECTS} namespace connects on one connection`);
    }
    const admission = await namespace.connect(connection, auth);
    if (!connection.open) return admission.abandon?.();
    connection.socketIo.acceptConnect(nsp, admission.sid, admission.pid);
    connection.state.deadline = null;
    admission.welcome();
  }
}
