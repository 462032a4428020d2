import type { Packet } from "./packet.js";

/**
 * The server side of HTTP long-polling for one session: packets wait in a buffer until the client's GET
 * takes them; a GET with nothing to take is held until something arrives.
 *
 * While the session is being upgraded (after the client's WebSocket probe) GETs are answered with `noop` only,
 * and the buffer is kept for the WebSocket, so no packet is delivered twice or lost across the switch.
 */
export class PollingTransport {
  private buffer: Packet[] = [];
  private waiting: ((packets: Packet[]) => void) | null = null;
  private upgrading = false;
  private closed = false;

  /**
   * A GET. Resolves with the packets to write, at once when some are buffered, else when some arrive.
   * Returns null when another GET is already waiting: the caller closes the session.
   */
  poll(): Promise<Packet[]> | null {
    if (this.waiting) return null;
    if (this.closed) return Promise.resolve([{ type: "close" }]);
    if (this.upgrading) return Promise.resolve([{ type: "noop" }]);
    if (this.buffer.length > 0) return Promise.resolve(this.take());
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  send(packet: Packet): void {
    this.buffer.push(packet);
    if (this.waiting && !this.upgrading) this.answer(this.take());
  }

  /** The client probed a WebSocket: end the waiting GET and hold what is buffered for the new transport. */
  startUpgrade(): void {
    this.upgrading = true;
    if (this.waiting) this.answer([{ type: "noop" }]);
  }

  /** The probing WebSocket went away before the upgrade completed: long-polling carries on. */
  cancelUpgrade(): void {
    this.upgrading = false;
  }

  /** The upgrade is complete: everything still buffered, in order, for the WebSocket to send. */
  finishUpgrade(): Packet[] {
    this.closed = true;
    return this.take();
  }

  /**
   * Ends the session. A waiting GET gets what is still buffered and then `noop` when the client asked to
   * close, or a `close` packet so the client knows the server ended it.
   */
  close(byClient: boolean): void {
    this.closed = true;
    if (this.waiting) this.answer([...this.take(), { type: byClient ? "noop" : "close" }]);
  }

  private take(): Packet[] {
    const packets = this.buffer;
    this.buffer = [];
    return packets;
  }

  private answer(packets: Packet[]): void {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(packets);
  }
}
