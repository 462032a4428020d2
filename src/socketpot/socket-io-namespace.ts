import { randomId } from "../ids.js";
import type { Ack, Admission, Namespace } from "../socket.io/namespace.js";
import { RecoveryClaim, type RecoveryStore } from "./recovery.js";
import { respond } from "./respond.js";
import type { ChatRoom, RoomClient } from "./room.js";

/** A Socketpot client over Socket.IO, with what connection state recovery needs of it. */
export interface SocketIoClient extends RoomClient {
  /** Whether its Socket.IO revision can recover sessions (5 can; 4, spoken by socket.io-client 2.x, cannot). */
  readonly canRecover: boolean;
  /** Its socket id and private session id in the main namespace, when it was given one. */
  readonly recoveryIds: { sid: string; pid: string } | null;
}

/** The disconnects after which socket.io clients reconnect by themselves: their sessions are kept. */
const RECOVERABLE = new Set(["transport close", "transport error", "ping timeout"]);

/**
 * Socketpot over Socket.IO's main namespace: events go to the room, outcomes come back through the ack. With a
 * {@link RecoveryStore}, clients get a pid and offsets, and a client that reconnects in time gets its session
 * back with every broadcast it missed (socket.io's connection state recovery).
 */
export class SocketpotNamespace implements Namespace<SocketIoClient> {
  /** `room` gives the room of a client's app (a room object serves one app). */
  constructor(
    private readonly room: (client: RoomClient) => ChatRoom,
    private readonly recovery: RecoveryStore | null,
  ) {}

  connect(client: SocketIoClient, auth: unknown): Admission {
    const room = this.room(client);
    const fresh = { sid: randomId(), welcome: () => room.arrive(client) };
    if (!this.recovery || !client.canRecover) return fresh;
    const claim = RecoveryClaim.safeParse(auth);
    const restored = claim.success ? this.recovery.take(claim.data.pid, claim.data.offset ?? null) : null;
    if (!claim.success || !restored) return { ...fresh, pid: randomId() };
    return {
      sid: restored.sid,
      pid: claim.data.pid,
      welcome: () => {
        room.rejoin(client, restored.session);
        this.save(client);
        for (const { event, payload, offset } of restored.missed) client.emit(event, payload, offset);
      },
    };
  }

  async event(client: SocketIoClient, name: string | number, args: unknown[], ack: Ack | null): Promise<void> {
    const outcome = await this.room(client).request(client, name, args[0]);
    if (name === "auth" && outcome.ok) this.save(client);
    respond(client, outcome, ack);
  }

  disconnected(client: SocketIoClient, reason: string): void {
    const ids = client.recoveryIds;
    if (ids && this.recovery) {
      if (client.session && RECOVERABLE.has(reason)) this.recovery.detach(ids.pid, client.id);
      else this.recovery.forget(ids.pid, client.id);
    }
    this.room(client).leave(client);
  }

  expired(client: SocketIoClient): void {
    this.room(client).authExpired(client);
  }

  violated(client: SocketIoClient, reason: string): void {
    client.emit("client_error", `${reason}; closing the connection`);
  }

  private save(client: SocketIoClient): void {
    const ids = client.recoveryIds;
    if (ids && client.session && client.open) this.recovery?.save(ids.pid, ids.sid, client.id, client.session);
  }
}
