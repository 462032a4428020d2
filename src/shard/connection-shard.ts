import { ORDERING_VERSION, orderingOf, runOrderingCall, type AppOrdering, type OrderingBatchAnswer } from "../socketpot/ordering.js";
import { BatchedRoomCalls } from "./room-calls.js";
import { deadline } from "../deadline.js";
import type { Refusal } from "../http/errors.js";
import { CloseCode } from "../engine.io/socket.js";
import { peerPlacement, placedObject } from "../placement.js";
import { roomName, shardOfName } from "../shards.js";
import type { Connection } from "./connection.js";
import { ConnectionReporter } from "./connection-reporter.js";
import type { Admitted } from "./engine-room.js";
import { SocketpotShard, tooManyConnections, unavailable } from "./socketpot-shard.js";

/**
 * One of an app's connection shards (`app:N:shard:k`): it holds a share of the app's connections and speaks
 * their wire protocols, and keeps no Socketpot state of its own. Requests go to the app's ordering room over
 * Durable Object RPC, each with a deadline, so a shard that cannot reach its room answers INTERNAL_ERROR
 * instead of hanging. Its connections are counted against the app's limits in reports ({@link ConnectionReporter}),
 * so that a connect below the limits waits for no call to the room.
 */
export class ConnectionShard extends SocketpotShard {
  protected override reach = deadline(this.config.storageTimeoutMs, "the app's room", this.runtime);
  private readonly reporters = new Map<number, ConnectionReporter>();
  /** The app's room, reached through one {@link BatchedRoomCalls} per app. */
  protected orderingRoom(appId: number): AppOrdering {
    const room = placedObject(this.env.ROOMS, peerPlacement(this.ctx.id), roomName(appId));
    const alone = orderingOf(room, appId);
    const shard = this.shardOf() ?? 0;
    return new BatchedRoomCalls(
      {
        // A batch that hangs would hold every call after it: it gets the same deadline as each call in it.
        sendBatch: async (calls) => {
          // (The stub's type cannot carry the `unknown` values of the results: the answer is what the room returns.)
          const answer = (await this.reach(room.calls(appId, shard, calls, ORDERING_VERSION))) as OrderingBatchAnswer;
          if (answer.shards !== null) this.shardCount = answer.shards;
          return answer;
        },
        sendOne: (call) => runOrderingCall(alone, call),
      },
      this.runtime,
    );
  }

  protected shardOf(): number | null {
    return shardOfName(this.ctx.id.name);
  }

  protected override async reserveConnection({ appId, shard }: Admitted, ip: string, id: string): Promise<Refusal | null> {
    const decision = this.reporter(appId, shard).admit(id, ip);
    if (decision === null) return null;
    try {
      const reason = await decision;
      return reason === null ? null : tooManyConnections(reason);
    } catch (error) {
      return unavailable(appId, shard, error);
    }
  }

  protected override releaseConnection(connection: Connection): void {
    this.reporter(connection.appId, connection.shard).release(connection.id, connection.state.ip);
  }

  protected override countedIps(open: Record<string, number>): Record<string, number> {
    let counted = open;
    for (const reporter of this.reporters.values()) counted = reporter.countedOnly(counted);
    return counted;
  }

  private reporter(appId: number, shard: number): ConnectionReporter {
    let reporter = this.reporters.get(appId);
    if (!reporter) {
      const { maxConnectionsPerApp: maxConnections, maxConnectionsPerIp } = this.config;
      reporter = new ConnectionReporter(
        { maxConnections, maxConnectionsPerIp },
        (report) => this.ordering(appId).countConnections(shard, report),
        (id, reason) => this.refuseOpened(id, reason),
        this.openIps(),
        this.runtime,
      );
      this.reporters.set(appId, reporter);
    }
    return reporter;
  }

  /** A connection let in before the room's count that the app's limits refuse: told why, then closed. */
  private refuseOpened(id: string, reason: string): void {
    const connection = this.connection(id);
    if (!connection) return;
    connection.emit("client_error", reason);
    connection.wire.close(CloseCode.POLICY_VIOLATION, reason);
  }
}
