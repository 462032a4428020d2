import type { ChatRoom, Outcome, RoomClient } from "./room.js";

/** Answers a Socket.IO ack: the callback's arguments. */
export type Ack = (args: unknown[]) => void;

/**
 * Socketpot over Socket.IO: an event goes to the room, and its outcome comes back as the ack's
 * `(errString, value)` arguments. `client_error` carries the explanation when the client's code is at fault,
 * or when there is no ack to carry the error string, so that no failure is silent.
 */
export async function handleEvent(
  room: ChatRoom,
  client: RoomClient,
  event: string | number,
  args: unknown[],
  ack: Ack | null,
): Promise<void> {
  respond(client, await room.request(client, event, args[0]), ack);
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
