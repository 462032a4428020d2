import type { AppOrdering } from "../socketpot/ordering.js";
import { deadline } from "../deadline.js";
import { roomName, shardOfName } from "../shards.js";
import { SocketpotShard } from "./socketpot-shard.js";

/**
 * One of an app's connection shards (`app:N:shard:k`): it holds a share of the app's connections and speaks
 * their wire protocols, and keeps no Socketpot state of its own. Requests go to the app's ordering room over
 * Durable Object RPC, each with a deadline, so a shard that cannot reach its room answers INTERNAL_ERROR
 * instead of hanging.
 */
export class ConnectionShard extends SocketpotShard {
  protected override reach = deadline(this.config.storageTimeoutMs, "the app's room");

  protected orderingRoom(appId: number): AppOrdering {
    return this.env.ROOMS.get(this.env.ROOMS.idFromName(roomName(appId)));
  }

  protected shardOf(): number | null {
    return shardOfName(this.ctx.id.name);
  }
}
