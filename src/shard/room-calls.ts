import type { Runtime } from "../deadline.js";
import { log } from "../log.js";
import { BATCH_BYTES, serializedBytesBound } from "../rpc-bytes.js";
import type { AppOrdering, ConnectionReport, CountedConnections, OrderingBatchAnswer, OrderingCall, Recovered, ShardClient } from "../socketpot/ordering.js";
import { answerBytesBound } from "../socketpot/answer-bounds.js";
import type { Outcome } from "../socketpot/room.js";

/** The most calls one batch carries, whatever their size; what is left goes in the next. */
export const MAX_CALLS_PER_BATCH = 500;

/**
 * How many users a shard takes its app's userlist to hold until the room says (or when the room is on code that
 * does not say): enough that a batch of auths sent first fits in one RPC for any but the largest apps.
 */
export const ASSUMED_USERS_ONLINE = 20_000;

/** How long a shard sends each call on its own after meeting a room without batches, before it tries again. */
const WITHOUT_BATCHES_MS = 60_000;

/** Where a shard's calls go: one batch in one call, or (to a room that predates batches) each call on its own. */
export interface RoomCallTransport {
  sendBatch(calls: OrderingCall[]): Promise<OrderingBatchAnswer>;
  sendOne(call: OrderingCall): Promise<unknown>;
}

/** The error of a call to an RPC method the object does not have: a room on code from before batches. */
const lacksBatches = (error: unknown) => error instanceof TypeError && /does not implement/.test(error.message);

interface Waiting {
  call: OrderingCall;
  /** A bound on the bytes the call takes in the batch ({@link serializedBytesBound}). */
  bytes: number;
  resolve: (value: never) => void;
  reject: (error: unknown) => void;
}

/**
 * A connection shard's calls to its app's ordering room, carried together: every call made while a batch is on
 * its way (auths, chat messages, commands, closes, connection reports, from all of the shard's clients) goes
 * in the next one, so the room gets one call at a time from each shard however many clients it has, and its
 * inbound rate grows with the shards, not the clients. Answers come back in the order of the calls and go to
 * their callers; a call that failed in the room fails alone, a batch that failed as a whole fails all its calls.
 * The calls of one batch are started in the room in their order, as separate calls arriving in that order
 * would be. The room says how far apart batches are to go (it shares its rate among its busy shards); a batch
 * waits for that spacing after the one before, and carries whatever piled up meanwhile. Both ways a batch fits
 * in one RPC: it carries calls whose bytes, and whose answers' bytes, are within {@link BATCH_BYTES} each by
 * their bounds (an auth's answer grows with the userlist, whose size the room gives with each answer); the rest
 * go in the next. A room on code from
 * before batches (during a rollout) has no method for them: the batch's calls are then sent each on its own,
 * and so is every call for a minute.
 */
export class BatchedRoomCalls implements AppOrdering {
  private waiting: Waiting[] = [];
  private sending = false;
  /** Until when calls go each on its own (epoch ms), after a room without batches. */
  private aloneUntil = 0;
  /** When the last batch went, and how far apart the room last asked batches to go. */
  private sentAt = -Infinity;
  private spacingMs = 0;
  /** The users of the app's userlist, as the room last said. */
  private usersOnline = ASSUMED_USERS_ONLINE;

  constructor(
    private readonly transport: RoomCallTransport,
    /** Time, and a hold on the object while a batch is on its way. */
    private readonly runtime: Pick<Runtime, "hold" | "now" | "later">,
  ) {}

  countConnections(_appId: number, shard: number, report: ConnectionReport): Promise<CountedConnections> {
    return this.enqueue({ kind: "countConnections", shard, report });
  }

  request(_appId: number, client: ShardClient, event: string | number, payload: unknown): Promise<Outcome<unknown>> {
    return this.enqueue({ kind: "request", client, event, payload });
  }

  recover(_appId: number, client: ShardClient, pid: string, offset: string | null): Promise<Recovered | null> {
    return this.enqueue({ kind: "recover", client, pid, offset });
  }

  leave(_appId: number, client: ShardClient, reason: string): Promise<void> {
    return this.enqueue({ kind: "leave", client, reason });
  }

  private enqueue<T>(call: OrderingCall): Promise<T> {
    if (this.runtime.now() < this.aloneUntil) return this.transport.sendOne(call) as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ call, bytes: serializedBytesBound(call), resolve: resolve as (value: never) => void, reject });
      if (this.sending) return;
      this.sending = true;
      // After the current turn, so that the calls of one turn go together too.
      queueMicrotask(() => this.runtime.hold(this.flush()));
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const wait = this.sentAt + this.spacingMs - this.runtime.now();
      if (wait > 0) await new Promise<void>((resolve) => this.runtime.later(wait, resolve));
      const batch = this.nextBatch();
      this.sentAt = this.runtime.now();
      try {
        const { results, spacingMs, usersOnline } = await this.transport.sendBatch(batch.map((waiting) => waiting.call));
        this.spacingMs = spacingMs;
        this.usersOnline = usersOnline ?? ASSUMED_USERS_ONLINE;
        batch.forEach(({ resolve, reject }, index) => {
          const result = results[index];
          if (result?.ok) resolve(result.value as never);
          else reject(new Error(result ? result.error : "the room's answer to a batch was missing a call's result"));
        });
      } catch (error) {
        if (!lacksBatches(error)) {
          for (const { reject } of batch) reject(error);
          continue;
        }
        this.aloneUntil = this.runtime.now() + WITHOUT_BATCHES_MS;
        log("room_without_batches", { calls: batch.length });
        for (const { call, resolve, reject } of batch) this.transport.sendOne(call).then(resolve as (value: unknown) => void, reject);
      }
    }
    this.sending = false;
  }

  /** The waiting calls, from the first, that fit in one batch both ways (at least one, whatever its size). */
  private nextBatch(): Waiting[] {
    let count = 0;
    let callBytes = 0;
    let answerBytes = 0;
    for (const { call, bytes } of this.waiting) {
      const answer = answerBytesBound(call, this.usersOnline);
      if (count > 0 && (count === MAX_CALLS_PER_BATCH || callBytes + bytes > BATCH_BYTES || answerBytes + answer > BATCH_BYTES)) break;
      count += 1;
      callBytes += bytes;
      answerBytes += answer;
    }
    return this.waiting.splice(0, count);
  }
}
