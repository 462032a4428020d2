import { randomId } from "../ids.js";
import type { Gateway, GatewayClient } from "./gateway.js";
import type { Ack, Admission, Namespace } from "../socket.io/namespace.js";
import { RecoveryClaim } from "../socketpot/recovery.js";
import { respond } from "./respond.js";

/** A Socketpot client over Socket.IO, with what connection state recovery needs of it. */
export interface SocketIoClient extends GatewayClient {
  /** Whether its Socket.IO revision can recover sessions (5 can; 4, spoken by socket.io-client 2.x, cannot). */
  readonly canRecover: boolean;
  /**
   * Whether this is the connection's first connect of a namespace, the only one that may claim a session to
   * recover (a client claims when it reconnects), so that a connection cannot have the room look up one made-up
   * pid after another.
   */
  readonly firstConnect: boolean;
}

/**
 * Socketpot over Socket.IO's main namespace: events go to the room through the shard's gateway, outcomes come
 * back through the ack. Where the room keeps a recovery log, clients get a pid and offsets, and a client that
 * reconnects in time gets its session back with every broadcast it missed (socket.io's connection state
 * recovery), on whichever shard it lands.
 */
export class SocketpotNamespace implements Namespace<SocketIoClient> {
  constructor(
    private readonly gateway: Gateway,
    private readonly recovers: boolean,
  ) {}

  async connect(client: SocketIoClient, auth: unknown): Promise<Admission> {
    const fresh = { sid: randomId(), welcome: () => this.gateway.arrive(client) };
    if (!this.recovers || !client.canRecover) return fresh;
    // A first connect names no pid, so it claims no session (and a parse that fails costs more than one that succeeds).
    const claim = namesPid(auth) && client.firstConnect ? RecoveryClaim.safeParse(auth) : null;
    const recovered = claim?.success ? await this.gateway.recover(client, claim.data.pid, claim.data.offset ?? null) : null;
    if (!claim?.success || !recovered) return { ...fresh, pid: randomId() };
    return {
      sid: recovered.sid,
      pid: recovered.pid,
      welcome: () => this.gateway.resume(client, recovered),
      abandon: () => this.gateway.abandon(client, recovered),
    };
  }

  async event(client: SocketIoClient, name: string | number, args: unknown[], ack: Ack | null): Promise<void> {
    await this.gateway.request(client, name, args[0], (outcome) => respond(client, outcome, ack));
  }

  disconnected(client: SocketIoClient, reason: string): void {
    this.gateway.leave(client, reason);
  }

  expired(client: SocketIoClient): void {
    this.gateway.authExpired(client);
  }

  violated(client: SocketIoClient, reason: string): void {
    client.emit("client_error", `${reason}; closing the connection`);
  }
}

const namesPid = (auth: unknown) => typeof auth === "object" && auth !== null && "pid" in auth;
