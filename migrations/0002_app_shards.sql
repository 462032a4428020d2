-- How many connection shards each app's connections are spread over; NULL follows the ROOM_SHARDS var.
ALTER TABLE apps ADD COLUMN shards INTEGER CHECK (shards BETWEEN 1 AND 64);
