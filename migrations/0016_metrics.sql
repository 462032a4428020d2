-- Metrics for scraping (GET /v1/admin/metrics), so that a scrape reads D1 and wakes no room: each source (an
-- app's room or shard, or a Queue consumer) writes its counters (totals since it began, which only grow) and
-- its gauges (as they stand), at most once a minute after something happened.
CREATE TABLE metric_values (
  app_id     INTEGER NOT NULL,
  -- The object's name (`app:N`, `app:N:shard:k`) or the consumer (`queue:events`).
  source     TEXT    NOT NULL,
  name       TEXT    NOT NULL,
  value      INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, source, name)
) WITHOUT ROWID;

-- Counts by minute that no app object keeps (the events the Queue gave up on), for the app's series; the
-- scheduled clean-up deletes those older than two days.
CREATE TABLE metric_minutes (
  app_id INTEGER NOT NULL,
  minute INTEGER NOT NULL,
  name   TEXT    NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (app_id, minute, name)
) WITHOUT ROWID;
