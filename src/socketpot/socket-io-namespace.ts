import type { Ack, Namespace } from "../socket.io/namespace.js";
import { respond } from "./respond.js";
import type { ChatRoom, RoomClient } from "./room.js";

/** Socketpot over Socket.IO's main namespace: events go to the room, outcomes come back through the ack. */
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
