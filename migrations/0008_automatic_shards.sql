-- Shards that follow the load. An app whose `shards` is NULL has its shard count set by its room, from its
-- connections (SHARD_TARGET_CONNECTIONS each), within min_shards and max_shards when it sets them;
-- active_shards is the count its room last chose, for Worker isolates that have not heard it from a room yet.
ALTER TABLE apps ADD COLUMN min_shards INTEGER CHECK (min_shards BETWEEN 1 AND 64);
ALTER TABLE apps ADD COLUMN max_shards INTEGER CHECK (max_shards BETWEEN 1 AND 64);
ALTER TABLE apps ADD COLUMN active_shards INTEGER CHECK (active_shards BETWEEN 1 AND 64);
