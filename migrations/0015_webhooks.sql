-- Webhooks: the endpoints where an app's backend hears of its rooms' events, and the attempts at delivering
-- to them (src/webhooks/).
CREATE TABLE webhook_endpoints (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id          INTEGER NOT NULL REFERENCES apps (id),
  url             TEXT    NOT NULL,
  -- JSON array of the event types it takes.
  events          TEXT    NOT NULL,
  -- Its signing secret, encrypted with a key derived from the WEBHOOK_SECRETS_KEY secret; never in the clear.
  sealed_secret   TEXT    NOT NULL,
  enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  -- Failed attempts since its last delivery, and when the first of them was: past both thresholds it is disabled.
  failures        INTEGER NOT NULL DEFAULT 0,
  failing_since   INTEGER,
  disabled_at     INTEGER,
  disabled_reason TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_by_app ON webhook_endpoints (app_id);

-- Each attempt at delivering an event to an endpoint, for the deliveries listing; the scheduled clean-up
-- deletes those older than a week.
CREATE TABLE webhook_deliveries (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id   INTEGER NOT NULL,
  event_id      TEXT    NOT NULL,
  type          TEXT    NOT NULL,
  attempt       INTEGER NOT NULL,
  -- The HTTP status answered; NULL when there was no answer (a timeout, a refused connection).
  status        INTEGER,
  error         TEXT,
  duration_ms   INTEGER NOT NULL,
  attempted_at  INTEGER NOT NULL,
  -- When the Queue tries again; NULL once delivered, or given up (dead-lettered).
  next_retry_at INTEGER
);
-- An endpoint's attempts newest first (its listing), and an app's by minute (its metrics).
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, attempted_at, id);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (attempted_at);
