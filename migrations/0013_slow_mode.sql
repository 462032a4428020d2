-- Slow mode: in a channel that has one, a MEMBER sends at most one message per interval (MODs and OWNERs are
-- exempt).
CREATE TABLE slow_modes (
  app_id      INTEGER NOT NULL REFERENCES apps (id),
  channel     TEXT    NOT NULL,
  interval_ms INTEGER NOT NULL CHECK (interval_ms BETWEEN 1000 AND 3600000),
  PRIMARY KEY (app_id, channel)
) WITHOUT ROWID;
