-- Socketpot Edge D1 schema: the full current shape of the database.
-- migrations/ holds the steps that build it; test/unit/schema.test.ts checks that both agree.

CREATE TABLE apps (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL,
  -- JSON array of allowed Origin values; an empty array allows any origin.
  allowed_origins TEXT    NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL,
  -- A fixed count of connection shards for the app's connections; NULL follows the ROOM_SHARDS var, and when
  -- that is "auto", the load.
  shards          INTEGER CHECK (shards BETWEEN 1 AND 64),
  -- How many days its messages are kept; NULL follows the MESSAGE_RETENTION_DAYS var.
  retention_days  INTEGER CHECK (retention_days BETWEEN 1 AND 3650),
  -- Bounds on the shard count its room chooses from the load (NULL: 1 and 64), and the count it chose last.
  min_shards      INTEGER CHECK (min_shards BETWEEN 1 AND 64),
  max_shards      INTEGER CHECK (max_shards BETWEEN 1 AND 64),
  active_shards   INTEGER CHECK (active_shards BETWEEN 1 AND 64),
  -- Where its Durable Objects live: a data jurisdiction (fixed when it is created: it is part of every object's
  -- id) and a location hint for objects created from then on. NULL: no restriction, no hint.
  jurisdiction    TEXT    CHECK (jurisdiction IN ('eu', 'fedramp', 'fedramp-high', 'us')),
  location_hint   TEXT    CHECK (location_hint IN ('wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'apac-ne', 'apac-se', 'oc', 'afr', 'me'))
);

-- Each allowed origin of each app as a row, for the index lookup of a request that names no app. The triggers
-- keep it equal to apps.allowed_origins, the one place an origin is written.
CREATE TABLE app_origins (
  origin TEXT    NOT NULL,
  app_id INTEGER NOT NULL REFERENCES apps (id),
  PRIMARY KEY (origin, app_id)
) WITHOUT ROWID;

CREATE TRIGGER app_origins_of_new_app AFTER INSERT ON apps BEGIN
  INSERT OR IGNORE INTO app_origins (origin, app_id) SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER app_origins_of_changed_app AFTER UPDATE OF allowed_origins ON apps BEGIN
  DELETE FROM app_origins WHERE app_id = OLD.id;
  INSERT OR IGNORE INTO app_origins (origin, app_id) SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER app_origins_of_deleted_app BEFORE DELETE ON apps BEGIN
  DELETE FROM app_origins WHERE app_id = OLD.id;
END;

-- Access tokens as SHA-256 digests (src/credentials.ts); a token itself is shown once, when issued.
-- prefix is its first characters, for telling tokens apart in a listing.
CREATE TABLE access_tokens (
  id         INTEGER PRIMARY KEY,
  digest     TEXT    NOT NULL UNIQUE,
  prefix     TEXT    NOT NULL,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  uname      TEXT    NOT NULL,
  role       TEXT    NOT NULL CHECK (role IN ('OWNER', 'MOD', 'MEMBER')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX access_tokens_by_user ON access_tokens (app_id, uname COLLATE NOCASE);
CREATE INDEX access_tokens_by_app ON access_tokens (app_id, id);
-- A moderation command's target is ranked by every token of its auth_id.
CREATE INDEX access_tokens_by_auth_id ON access_tokens (app_id, auth_id);

-- Tokens issued before digests (migration 0003), waiting for the Worker to digest them into access_tokens;
-- it empties this table before its first token lookup. (The quotes are how SQLite records a renamed table.)
CREATE TABLE "plaintext_tokens" (
  token      TEXT    PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  uname      TEXT    NOT NULL,
  role       TEXT    NOT NULL CHECK (role IN ('OWNER', 'MOD', 'MEMBER')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);

-- App keys, with which an app's own backend calls the API for that app only, within its scopes (a JSON array,
-- src/credentials.ts), as digests like access tokens. (Named for what the first keys did: post events.)
CREATE TABLE ingest_keys (
  id         INTEGER PRIMARY KEY,
  digest     TEXT    NOT NULL UNIQUE,
  prefix     TEXT    NOT NULL,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  scopes     TEXT    NOT NULL DEFAULT '["events:write"]'
);
CREATE INDEX ingest_keys_by_app ON ingest_keys (app_id, id);

-- Public keys with which an app's own backend signs its users' access tokens (JWTs, src/signed-tokens.ts): a
-- token names its key by kid, unique within the app. Only the public JWK is kept; there is nothing secret here.
CREATE TABLE signing_keys (
  id         INTEGER PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  kid        TEXT    NOT NULL,
  alg        TEXT    NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
  jwk        TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (app_id, kid)
);

-- Users an app has banned: while a ban lasts (expires_at NULL: for good) the user's auth is refused and its
-- sessions are ended.
CREATE TABLE bans (
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  reason     TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (app_id, auth_id)
) WITHOUT ROWID;

-- Slow mode: in a channel that has one, a MEMBER sends at most one message per interval (MODs and OWNERs are
-- exempt).
CREATE TABLE slow_modes (
  app_id      INTEGER NOT NULL REFERENCES apps (id),
  channel     TEXT    NOT NULL,
  interval_ms INTEGER NOT NULL CHECK (interval_ms BETWEEN 1000 AND 3600000),
  PRIMARY KEY (app_id, channel)
) WITHOUT ROWID;

-- Every chat and system message; id gives the one total order of an app's messages.
CREATE TABLE messages (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  channel    TEXT    NOT NULL,
  text       TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  -- The author as of sending; all three are NULL for system messages.
  auth_id    INTEGER,
  uname      TEXT,
  role       TEXT
);
CREATE INDEX messages_by_app ON messages (app_id, id);
-- The admin API's messages of one channel, newest first.
CREATE INDEX messages_by_channel ON messages (app_id, channel, id);
-- Erasing a user reads only that user's messages.
CREATE INDEX messages_by_author ON messages (app_id, auth_id) WHERE auth_id IS NOT NULL;

CREATE TABLE mutes (
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  uname      TEXT    NOT NULL,
  muted_by   TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, auth_id)
);
-- The scheduled clean-up deletes expired mutes found by this index.
CREATE INDEX mutes_by_expiry ON mutes (expires_at);

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

-- Metrics for scraping (GET /v1/admin/metrics): each source (an app's room or shard, or a Queue consumer)
-- writes its counters (totals since it began) and its gauges (as they stand), at most once a minute.
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
