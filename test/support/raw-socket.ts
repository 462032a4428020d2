/** A bare WebSocket speaking Engine.IO/Socket.IO by hand, for sending what no well-behaved client would. */
export class RawSocket {
  readonly frames: Array<string | Uint8Array> = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (event) => {
      this.frames.push(typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer));
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  static async open(url: string, query = "EIO=4&transport=websocket&app_id=1", path = "/socket.io/"): Promise<RawSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}${path}?${query}`);
    const socket = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("WebSocket failed to open")), { once: true });
    });
    return socket;
  }

  /** Opens, reads the Engine.IO handshake and connects the Socket.IO namespace `/`. */
  static async connected(url: string): Promise<RawSocket> {
    const socket = await RawSocket.open(url);
    await socket.nextText((frame) => frame.startsWith("0"));
    socket.send("40");
    await socket.nextText((frame) => frame.startsWith("40"));
    return socket;
  }

  /** Connected and authenticated as the holder of `token` (or anonymously). */
  static async authenticated(url: string, token?: string): Promise<RawSocket> {
    const socket = await RawSocket.connected(url);
    socket.send(`420${JSON.stringify(["auth", { app_id: 1, subscriptions: ["CHAT"], access_token: token }])}`);
    await socket.nextText((frame) => frame.startsWith("430[null,"));
    return socket;
  }

  send(frame: string | Uint8Array): void {
    this.ws.send(frame);
  }

  /** The first text frame (already received or still to come) that matches; consumed from the list. */
  async nextText(matches: (frame: string) => boolean, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => typeof frame === "string" && matches(frame));
      if (index >= 0) return this.frames.splice(index, 1)[0] as string;
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) before a matching frame`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await this.frameOrTimeout(remaining);
    }
  }

  /** The binary frames received so far, once there are at least `count` of them. */
  async binaryFrames(count: number, timeoutMs = 5_000): Promise<Uint8Array[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const binary = this.frames.filter((frame): frame is Uint8Array => frame instanceof Uint8Array);
      if (binary.length >= count) return binary;
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) with ${binary.length} of ${count} binary frames`);
      if (Date.now() > deadline) throw new Error(`${binary.length} of ${count} binary frames within ${timeoutMs} ms`);
      await this.frameOrTimeout(50);
    }
  }

  /** The Socket.IO event `[name, ...args]` of the next matching `42` frame. */
  async nextEvent(name: string, timeoutMs?: number): Promise<unknown[]> {
    const frame = await this.nextText((text) => text.startsWith(`42["${name}"`), timeoutMs);
    return JSON.parse(frame.slice(2)) as unknown[];
  }

  /** Resolves with the close code and reason once the server closes the socket. */
  async closedBy(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms`);
      await this.frameOrTimeout(50);
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }

  /** Resolves at the next frame or close, or after `ms`. */
  private frameOrTimeout(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
