import type { Ack, Namespace } from "../socket.io/namespace.js";
import type { ChatRoom, Outcome, RoomClient } from "./room.js";

/**
 * Socketpot over Socket.IO's main namespace: events go to the room, and outcomes come back as the ack's
 * `(errString, value)` arguments. `client_error` carries the explanation when the client's code is at fault,
 * or when there is no ack to carry the error string, so that no failure is silent.
 */
export class SocketpotNamespace implements Namespace<RoomClient> {
  /** `room` gives the room of a client's app (a room object serves one app). */
  constructor(private readonly room: (client: RoomClient) => ChatRoom) {}

  connected(client: RoomClient): void {
    this.room(client).arrive(client);
  }

  async event(client: RoomClient, name: string | number, args: unknown[], ack: Ack | null): Promise<void> {
    respond(client, await this.room(client).request(client, name, args[0]), ack);
  }

  disconnected(client: RoomClient): void {
    this.room(client).leave(client);
  }

  expired(client: RoomClient): void {
    this.room(client).authExpired(client);
  }

  violated(client: RoomClient, reason: string): void {
    client.emit("client_error", `${reason}; closing the connection`);
  }
}

export function respond(client: RoomClient, outcome: Outcome<unknown>, ack: Ack | null): void {
  if (!client.open) return;
  if (outcome.ok) {
    ack?.([null, outcome.value]);
  } else {
    if (outcome.clientBug || !ack) client.emit("client_error", ack ? outcome.reason : `${outcome.error}: ${outcome.reason}`);
    ack?.([outcome.error]);
  }
  if (outcome.disconnect) client.disconnect();
}
