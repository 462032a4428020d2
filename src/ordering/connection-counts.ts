/** An app's connection limits, counted over all its shards. */
export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

/** Open connections of an app per shard and client address, so that its limits hold app-wide. */
export class ConnectionCounts {
  /** The app's open connections over all its shards. */
  total = 0;
  private readonly perIp = new Map<string, number>();
  private readonly perShard = new Map<number, Map<string, number>>();

  constructor(private readonly limits: ConnectionLimits) {}

  /** Counts a connection in, or says why the app's limits refuse it. */
  admit(shard: number, ip: string): string | null {
    const { maxConnections, maxConnectionsPerIp } = this.limits;
    if (this.total >= maxConnections) return `this app has ${maxConnections} connections, its limit; try again later`;
    if ((this.perIp.get(ip) ?? 0) >= maxConnectionsPerIp) return perIpRefusal(maxConnectionsPerIp);
    this.add(shard, ip, 1);
    return null;
  }

  /** Replaces a shard's counts with what it reports as open. */
  replace(shard: number, ips: Record<string, number>): void {
    for (const [ip, count] of this.perShard.get(shard) ?? []) this.add(shard, ip, -count);
    for (const [ip, count] of Object.entries(ips)) this.add(shard, ip, count);
  }

  release(shard: number, ip: string): void {
    if ((this.perShard.get(shard)?.get(ip) ?? 0) > 0) this.add(shard, ip, -1);
  }

  private add(shard: number, ip: string, change: number): void {
    this.total += change;
    bump(this.perIp, ip, change);
    const ips = this.perShard.get(shard) ?? new Map<string, number>();
    bump(ips, ip, change);
    if (ips.size > 0) this.perShard.set(shard, ips);
    else this.perShard.delete(shard);
  }
}

/** Why a connection from an address that already has `max` to the app is refused. */
export function perIpRefusal(max: number): string {
  return `at most ${max} connections to one app from one address`;
}

/** Adds `change` to a count in `counts`, keeping only counts above zero. */
export function bump(counts: Map<string, number>, key: string, change: number): void {
  const count = (counts.get(key) ?? 0) + change;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
