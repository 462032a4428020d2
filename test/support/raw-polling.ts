/** An Engine.IO long-polling session driven by hand with fetch, for exact control of timing (posts speak v4). */
export class RawPolling {
  private constructor(
    private readonly base: string,
    readonly sid: string,
  ) {}

  static async open(url: string, query = "EIO=4&transport=polling&app_id=1"): Promise<RawPolling> {
    const base = `${url}/socket.io/?${query}`;
    const response = await fetch(base);
    const body = await response.text();
    // v4 sends the open packet as it is; v3 prefixes its length (`96:0{...}`).
    const open = /^(?:\d+:)?0(\{.*\})$/.exec(body);
    if (!response.ok || !open?.[1]) throw new Error(`handshake failed: ${response.status} ${body}`);
    return new RawPolling(base, (JSON.parse(open[1]) as { sid: string }).sid);
  }

  get url(): string {
    return `${this.base}&sid=${this.sid}`;
  }

  /** Sends v4 packets in one POST. */
  async post(...packets: string[]): Promise<Response> {
    return fetch(this.url, { method: "POST", body: packets.join("\x1e"), headers: { "Content-Type": "text/plain;charset=UTF-8" } });
  }

  /** One GET: the packets it returned. */
  async poll(): Promise<string[]> {
    const response = await fetch(this.url);
    if (!response.ok) throw new Error(`poll failed: ${response.status} ${await response.text()}`);
    return (await response.text()).split("\x1e");
  }

  /** Polls until a packet matches; returns it (answering pings on the way). */
  async until(matches: (packet: string) => boolean, attempts = 20): Promise<string> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      for (const packet of await this.poll()) {
        if (packet === "2") await this.post("3");
        if (matches(packet)) return packet;
      }
    }
    throw new Error("no matching packet");
  }
}
