import type { EngineState } from "../engine.io/socket.js";
import { HEARTBEAT } from "./protocol.js";

/**
 * The plain protocol's side of one connection: events that become ready together (in the same turn of the
 * event loop) go out as one frame, and the server sends `h` every heartbeat interval. Clients never answer
 * heartbeats, so a dead peer is noticed by the transport closing, not by a timeout here.
 */
export class PlainSocket {
  private pending: string[] = [];

  constructor(
    /** Shares the Engine.IO state's `lastPingAt` as the time of the last heartbeat, so it survives hibernation. */
    private readonly state: EngineState,
    private readonly send: (frame: string) => void,
    private readonly close_: (code: number, reason: string) => void,
    private readonly intervalMs: number,
  ) {}

  /** Queues one encoded event; the frame is sent once the current turn ends. */
  queue(encodedEvent: string): void {
    this.pending.push(encodedEvent);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  heartbeat(now: number, horizon = now): boolean {
    if (horizon >= this.state.lastPingAt + this.intervalMs) {
      this.send(HEARTBEAT);
      this.state.lastPingAt = now;
    }
    return true;
  }

  nextHeartbeatAt(): number {
    return this.state.lastPingAt + this.intervalMs;
  }

  close(code: number, reason: string): void {
    this.flush();
    this.close_(code, reason);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const frame = `[${this.pending.join(",")}]`;
    this.pending = [];
    this.send(frame);
  }
}
