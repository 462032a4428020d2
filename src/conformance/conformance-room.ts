import type { PacketData } from "../engine.io/packet.js";
import { CloseCode } from "../engine.io/socket.js";
import type { Ack, Admission, Namespace } from "../socket.io/namespace.js";
import { randomId } from "../ids.js";
import { DO_WEBSOCKETS_PER_OBJECT } from "../limits.js";
import type { Connection, Stack } from "../shard/connection.js";
import { EngineRoom, type Admitted, type EngineApplication, type RoomEngineOptions } from "../shard/engine-room.js";
import { SocketIoApplication } from "../shard/socket-io-application.js";

/**
 * The reference application of the Socket.IO protocol test suite: it echoes the connect payload as an `auth`
 * event, answers `message` with `message-back` and `message-with-ack` through the ack.
 */
class ReferenceNamespace implements Namespace<Connection> {
  constructor(private readonly nsp: string) {}

  connect(connection: Connection, auth: unknown): Admission {
    return { sid: randomId(), welcome: () => connection.socketIo.emit(this.nsp, ["auth", auth]) };
  }

  async event(connection: Connection, name: string | number, args: unknown[], ack: Ack | null): Promise<void> {
    if (name === "message") connection.socketIo.emit(this.nsp, ["message-back", ...args]);
    else if (name === "message-with-ack") ack?.(args);
  }

  disconnected(): void {}
}

/** The application of the Engine.IO protocol test suite: every message is sent straight back. */
class EchoApplication implements EngineApplication {
  opened(connection: Connection): void {
    connection.state.deadline = null;
  }

  async message(connection: Connection, data: PacketData): Promise<void> {
    connection.engine.send([data]);
  }

  expired(connection: Connection): void {
    connection.engine.close(CloseCode.NORMAL, "connection timeout");
  }

  violated(connection: Connection, code: number, reason: string): void {
    connection.engine.close(code, reason);
  }

  ended(): void {}
}

/**
 * The conformance server's one Durable Object: the production Engine.IO server, transports and codecs, with
 * the protocol test suites' reference applications above them and their reference settings.
 */
export class ConformanceRoom extends EngineRoom<unknown> {
  protected readonly engineOptions: RoomEngineOptions = {
    pingIntervalMs: 300,
    pingTimeoutMs: 200,
    maxPayloadBytes: 1_000_000,
    connectTimeoutMs: 1_000,
    maxConnections: DO_WEBSOCKETS_PER_OBJECT,
  };
  private readonly echo = new EchoApplication();
  private readonly socketIo = new SocketIoApplication(
    { "/": new ReferenceNamespace("/"), "/custom": new ReferenceNamespace("/custom") },
    this.engineOptions.connectTimeoutMs,
  );

  protected application(stack: Stack): EngineApplication | null {
    if (stack === "plain") return null;
    return stack === "socket.io" ? this.socketIo : this.echo;
  }

  protected async admit(): Promise<Admitted> {
    return { appId: 0, shard: 0 };
  }

  /** The reference servers have no connection limits. */
  protected async reserveConnection(): Promise<null> {
    return null;
  }

  protected releaseConnection(): void {}
}
