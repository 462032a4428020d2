import type { Packet } from "./packet.js";

/** How long a GET that arrives while a probe socket is open waits for the upgrade to complete. */
const UPGRADE_GRACE_MS = 100;

/**
 * The server side of HTTP long-polling for one session: packets wait in a buffer until the client's GET
 * takes them; a GET with nothing to take is held until something arrives.
 *
 * While the session is being upgraded (after the client's WebSocket probe) GETs are answered with `noop` only,
 * and the buffer is kept for the WebSocket, so no packet is delivered twice or lost across the switch.
 *
 * A GET that arrives once a probe socket is open is held for a moment before it is answered at all: it may
 * have overtaken the probe and the `upgrade` packet on their way over the WebSocket, and if the upgrade lands
 * meanwhile the GET is refused and what was buffered goes out on the WebSocket instead.
 *
 * The buffer is bounded: a client that stops polling while its session stays alive (it still POSTs its pongs)
 * would otherwise make the server keep everything sent to it. A client that polls may be sent more than the
 * bound at once (a recovered session's missed events); one that has taken nothing for the grace may not.
 */
export class PollingTransport {
  private buffer: Packet[] = [];
  /** The characters (of text) and bytes (of binary data) of the packets in the buffer. */
  private bufferedSize = 0;
  private waiting: ((packets: Packet[] | null) => void) | null = null;
  /** Whether the waiting GET arrived after a WebSocket opened to probe. */
  private waitingSinceProbe = false;
  private probeOpen = false;
  private upgrading = false;
  private closed = false;

  /** When a GET last took what was buffered (or the session opened). */
  private takenAt: number;

  constructor(
    private readonly maxBufferedSize: number,
    private readonly graceMs: number,
    now: number,
  ) {
    this.takenAt = now;
  }

  /**
   * A GET. Resolves with the packets to write, at once when some are buffered (and no probe socket is open),
   * else when some arrive; or with null when the session moved to WebSocket meanwhile (the caller refuses it).
   * Returns null at once when another GET is already waiting: the caller closes the session.
   */
  poll(now: number): Promise<Packet[] | null> | null {
    if (this.waiting) return null;
    if (this.closed) return Promise.resolve([{ type: "close" }]);
    if (this.buffer.length > 0 && !this.probeOpen) return Promise.resolve(this.take(now));
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.waitingSinceProbe = this.probeOpen;
      if (this.waitingSinceProbe) this.answerAfterGrace(resolve, now);
    });
  }

  /** A WebSocket opened to take over this session; its probe comes next. */
  probeOpened(): void {
    this.probeOpen = true;
  }

  /**
   * Buffers a packet for the next GET (or answers the waiting one). False when the buffer has grown past its
   * bound and no GET has taken anything for the grace: the client is not polling, and the caller ends the session.
   */
  send(packet: Packet, now: number): boolean {
    this.buffer.push(packet);
    this.bufferedSize += packet.data === undefined ? 0 : typeof packet.data === "string" ? packet.data.length : packet.data.byteLength;
    if (this.waiting && !this.waitingSinceProbe && !this.upgrading) this.answer(this.take(now));
    return this.bufferedSize <= this.maxBufferedSize || now - this.takenAt <= this.graceMs;
  }

  /**
   * The client probed a WebSocket: the waiting GET ends with a `noop` (the client waits for it before it sends
   * `upgrade`), and what is buffered is held for the new transport. A GET that arrived after the probe socket
   * opened keeps its moment of grace.
   */
  startUpgrade(): void {
    this.upgrading = true;
    if (this.waiting && !this.waitingSinceProbe) this.answer([{ type: "noop" }]);
  }

  /** The probing WebSocket went away before the upgrade completed: long-polling carries on. */
  cancelUpgrade(): void {
    this.upgrading = false;
    this.probeOpen = false;
  }

  /** The upgrade is complete: everything still buffered, in order, for the WebSocket to send. */
  finishUpgrade(): Packet[] {
    this.closed = true;
    if (this.waiting) this.answer(null);
    return this.drain();
  }

  /**
   * Ends the session. A waiting GET gets what is still buffered and then `noop` when the client asked to
   * close, or a `close` packet so the client knows the server ended it.
   */
  close(byClient: boolean): void {
    this.closed = true;
    const held = this.drain();
    if (this.waiting) this.answer([...held, { type: byClient ? "noop" : "close" }]);
  }

  /** After the grace: `noop` if the upgrade is still under way, else what is buffered, else an ordinary wait. */
  private answerAfterGrace(waiting: (packets: Packet[] | null) => void, now: number): void {
    setTimeout(() => {
      if (this.waiting !== waiting) return;
      this.waitingSinceProbe = false;
      if (this.upgrading) this.answer([{ type: "noop" }]);
      else if (this.buffer.length > 0) this.answer(this.take(now + UPGRADE_GRACE_MS));
    }, UPGRADE_GRACE_MS);
  }

  /** What is buffered, taken by a GET at `now`. */
  private take(now: number): Packet[] {
    this.takenAt = now;
    return this.drain();
  }

  private drain(): Packet[] {
    const packets = this.buffer;
    this.buffer = [];
    this.bufferedSize = 0;
    return packets;
  }

  private answer(packets: Packet[] | null): void {
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(packets);
  }
}
