import type { Outcome } from "../socketpot/room.js";
import type { GatewayClient } from "./gateway.js";

/** Answers a request the client can match with its answer: `(errString)` or `(null, value)`. */
export type Ack = (args: unknown[]) => void;

/**
 * Sends a request's outcome back, the same way for every wire protocol: the ack gets the error string or the
 * value; `client_error` carries the explanation when the client's code is at fault, when the failure closes the
 * connection, or when there is no ack to carry the error, so that no failure is silent.
 */
export function respond(client: GatewayClient, outcome: Outcome<unknown>, ack: Ack | null): void {
  if (!client.open) return;
  if (outcome.ok) {
    ack?.([null, outcome.value]);
  } else {
    if (outcome.clientBug || outcome.disconnect || !ack) client.emit("client_error", ack ? outcome.reason : `${outcome.error}: ${outcome.reason}`);
    ack?.([outcome.error]);
  }
  if (outcome.disconnect) client.disconnect();
}
