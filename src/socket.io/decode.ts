import {
  MAX_ATTACHMENTS,
  PacketType,
  RESERVED_EVENTS,
  type DecodeError,
  type Packet,
  type SocketProtocol,
} from "./packet.js";

/**
 * A binary packet whose attachments are still arriving. Its JSON stays text until they are all here: parsed, a
 * payload can take many times its size in memory, and the text is what the budget counts.
 */
interface PendingBinary {
  head: Header;
  body: string;
  expected: number;
  buffers: Uint8Array[];
  /** The attachments' bytes so far, held against the packet's limit. */
  attachmentBytes: number;
  /** What the packet holds of the shared budget: its text and its attachments. */
  held: number;
}

/**
 * Bytes held for binary packets still arriving (their JSON text and attachments), shared by the decoders of one
 * object: however many connections hold an unfinished packet, together they hold at most `maxBytes`.
 */
export class AttachmentBudget {
  held = 0;

  constructor(readonly maxBytes: number) {}

  take(bytes: number): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }
}

/** What a decoder accepts of binary packets, whose attachments it holds until the packet is complete. */
export interface DecoderLimits {
  /** The most bytes the attachments of one packet may carry together. */
  maxAttachmentBytes: number;
  /** Whether a binary packet for `nsp` is taken now: one for a namespace the client has not joined is refused. */
  acceptsBinary(nsp: string): boolean;
  /** The budget shared with the object's other connections, for unfinished packets' text and attachments. */
  budget: AttachmentBudget;
}

/**
 * Decodes the Engine.IO message payloads of one connection into Socket.IO packets. It is stateful only
 * between a BINARY_EVENT/BINARY_ACK header and its attachments, which it holds within {@link DecoderLimits}.
 * Never throws: bad input is a {@link DecodeError}.
 */
export class PacketDecoder {
  private pending: PendingBinary | null = null;

  constructor(
    private readonly protocol: SocketProtocol,
    private readonly limits: DecoderLimits,
  ) {}

  /** Returns a complete packet, `null` while attachments are outstanding, or an error. */
  add(payload: string | Uint8Array): Packet | DecodeError | null {
    if (typeof payload !== "string") return this.addAttachment(payload);
    if (this.pending) return fail("text packet received while binary attachments were expected");
    const split = splitPacket(payload);
    if (split.type === "error") return split;
    const { head, body } = split;
    if (head.attachments === undefined) return parseBody(head, body, this.protocol);
    if (!this.limits.acceptsBinary(head.nsp)) return fail(`binary packet for namespace ${head.nsp}, which is not connected`);
    if (head.attachments === 0) return this.complete(head, body, []);
    const { budget } = this.limits;
    if (!budget.take(body.length)) return fail(budgetExhausted(budget));
    this.pending = { head, body, expected: head.attachments, buffers: [], attachmentBytes: 0, held: body.length };
    return null;
  }

  /** Lets go of a packet still arriving (its connection ended), returning what it held to the budget. */
  discard(): void {
    if (this.pending) this.limits.budget.give(this.pending.held);
    this.pending = null;
  }

  private addAttachment(buffer: Uint8Array): Packet | DecodeError | null {
    const pending = this.pending;
    if (!pending) return fail("binary payload received without a binary packet header");
    const { maxAttachmentBytes, budget } = this.limits;
    if (pending.attachmentBytes + buffer.byteLength > maxAttachmentBytes) {
      this.discard();
      return fail(`binary attachments of more than ${maxAttachmentBytes} bytes in one packet`);
    }
    if (!budget.take(buffer.byteLength)) {
      this.discard();
      return fail(budgetExhausted(budget));
    }
    pending.attachmentBytes += buffer.byteLength;
    pending.held += buffer.byteLength;
    pending.buffers.push(buffer);
    if (pending.buffers.length < pending.expected) return null;
    this.discard();
    return this.complete(pending.head, pending.body, pending.buffers);
  }

  private complete(head: Header, body: string, buffers: Uint8Array[]): Packet | DecodeError {
    const { attachments: _, ...parsed } = head;
    const packet = parseBody(parsed, body, this.protocol);
    return packet.type === "error" ? packet : reconstruct(packet, buffers);
  }
}

const budgetExhausted = (budget: AttachmentBudget) => `the server holds its most bytes of unfinished binary packets (${budget.maxBytes}); try again later`;

type Header = Packet & { attachments?: number };

/** A packet's head (type, attachment count, namespace, ack id) and the JSON text after it, not yet parsed. */
function splitPacket(text: string): { type: "split"; head: Header; body: string } | DecodeError {
  const typeChar = text.charAt(0);
  if (!/^[0-6]$/.test(typeChar)) return fail(`unknown Socket.IO packet type ${JSON.stringify(typeChar)}`);
  const type = Number(typeChar) as PacketType;
  let cursor = 1;
  const head: Header = { type, nsp: "/" };

  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    const dash = text.indexOf("-", cursor);
    const count = text.slice(cursor, dash);
    if (dash < 0 || !/^\d{1,3}$/.test(count)) return fail("binary packet without a valid attachment count");
    head.attachments = Number(count);
    if (head.attachments > MAX_ATTACHMENTS) return fail(`more than ${MAX_ATTACHMENTS} binary attachments`);
    cursor = dash + 1;
  }

  if (text.charAt(cursor) === "/") {
    const comma = text.indexOf(",", cursor);
    const end = comma < 0 ? text.length : comma;
    // Socket.IO v4 clients append the connect query to the namespace (`/chat?token=1`).
    head.nsp = text.slice(cursor, end).split("?")[0] ?? "/";
    cursor = comma < 0 ? text.length : comma + 1;
  }

  const idMatch = /^\d{1,15}/.exec(text.slice(cursor, cursor + 16));
  if (idMatch) {
    head.id = Number(idMatch[0]);
    cursor += idMatch[0].length;
  }
  return { type: "split", head, body: text.slice(cursor) };
}

/** The packet with its JSON payload parsed and checked against its type. */
function parseBody(head: Header, body: string, protocol: SocketProtocol): Header | DecodeError {
  const packet: Header = { ...head };
  if (body.length > 0) {
    try {
      packet.data = JSON.parse(body);
    } catch {
      return fail("packet payload is not valid JSON");
    }
  }
  return validate(packet, protocol);
}

function validate(packet: Header, protocol: SocketProtocol): Header | DecodeError {
  const { data } = packet;
  switch (packet.type) {
    case PacketType.CONNECT:
      return data === undefined || isPlainObject(data) ? packet : fail("CONNECT payload must be an object");
    case PacketType.DISCONNECT:
      return data === undefined ? packet : fail("DISCONNECT packet must not carry a payload");
    case PacketType.CONNECT_ERROR:
      return protocol === 4 || typeof data === "string" || isPlainObject(data)
        ? packet
        : fail("CONNECT_ERROR payload must be a string or an object");
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT: {
      if (!Array.isArray(data) || data.length === 0) return fail("EVENT payload must be a non-empty array");
      const [name] = data;
      if (typeof name !== "string" && typeof name !== "number") return fail("event name must be a string");
      if (typeof name === "string" && RESERVED_EVENTS.has(name)) return fail(`"${name}" is a reserved event name`);
      return packet;
    }
    case PacketType.ACK:
    case PacketType.BINARY_ACK:
      if (packet.id === undefined) return fail("ACK packet without an id");
      return Array.isArray(data) ? packet : fail("ACK payload must be an array");
  }
}

function reconstruct(packet: Packet, buffers: Uint8Array[]): Packet | DecodeError {
  if (buffers.length === 0) return packet;
  try {
    return { ...packet, data: replacePlaceholders(packet.data, buffers) };
  } catch {
    return fail("binary placeholder refers to a missing attachment");
  }
}

function replacePlaceholders(value: unknown, buffers: Uint8Array[]): unknown {
  if (Array.isArray(value)) return value.map((item) => replacePlaceholders(item, buffers));
  if (!isPlainObject(value)) return value;
  if (value["_placeholder"] === true) {
    const num = value["num"];
    const buffer = typeof num === "number" ? buffers[num] : undefined;
    if (!buffer) throw new RangeError("missing attachment");
    return buffer;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replacePlaceholders(item, buffers)]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(reason: string): DecodeError {
  return { type: "error", reason };
}
