import { demoUser } from "./server.js";

export interface PlainEvent {
  a: string;
  p: any;
  s: string;
}

/** A client of the plain-WebSocket protocol, as a bot in any language would write it. */
export class PlainClient {
  readonly events: PlainEvent[] = [];
  readonly heartbeats: number[] = [];
  closed: { code: number; reason: string } | null = null;
  private nextId = 1;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const data = String(event.data);
      if (data === "h") this.heartbeats.push(Date.now());
      else this.events.push(...(JSON.parse(data) as PlainEvent[]));
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  static async open(url: string, appId = 1): Promise<PlainClient> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/v1/apps/${appId}/ws`);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", () => reject(new Error("WebSocket failed to open")), { once: true });
    });
    return new PlainClient(ws);
  }

  /** Opened and authenticated as a demo user (or anonymously with null). */
  static async joined(url: string, uname: string | null, subscriptions: string[] = ["CHAT"]): Promise<PlainClient> {
    const client = await PlainClient.open(url);
    const reply = await client.request("auth", { app_id: 1, subscriptions, access_token: uname ? demoUser(uname).token : undefined });
    if (reply.a !== "ack") throw new Error(`auth failed: ${JSON.stringify(reply)}`);
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  /** Sends an action with an id and resolves with its one reply (`ack` or `error`). */
  async request(action: string, param?: unknown): Promise<PlainEvent> {
    const id = `r${this.nextId++}`;
    this.send({ a: action, p: param, t: Math.floor(Date.now() / 1000), id });
    return this.next((event) => (event.a === "ack" || event.a === "error") && event.p?.id === id);
  }

  /** The first event (received or still to come) that matches; removed from the list. */
  async next(matches: (event: PlainEvent) => boolean, timeoutMs = 5_000): Promise<PlainEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex(matches);
      if (index >= 0) return this.events.splice(index, 1)[0]!;
      if (this.closed) throw new Error(`closed (${this.closed.code}) before a matching event`);
      if (Date.now() > deadline) throw new Error(`no matching event; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async closedBy(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("still open");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
