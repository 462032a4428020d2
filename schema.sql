-- Socketpot Edge D1 schema: the full current shape of the database.
-- migrations/ holds the steps that build it; test/unit/schema.test.ts checks that both agree.

CREATE TABLE apps (
  id              INTEGER PRIMARY KEY,
  name            TEXT    NOT NULL,
  -- JSON array of allowed Origin values; an empty array allows any origin.
  allowed_origins TEXT    NOT NULL DEFAULT '[]',
  created_at      INTEGER NOT NULL,
  -- How many connection shards the app's connections are spread over; NULL follows the ROOM_SHARDS var.
  shards          INTEGER CHECK (shards BETWEEN 1 AND 64)
);

CREATE TABLE access_tokens (
  token      TEXT    PRIMARY KEY,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  uname      TEXT    NOT NULL,
  role       TEXT    NOT NULL CHECK (role IN ('OWNER', 'MOD', 'MEMBER')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX access_tokens_by_user ON access_tokens (app_id, uname COLLATE NOCASE);

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

CREATE TABLE mutes (
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  auth_id    INTEGER NOT NULL,
  uname      TEXT    NOT NULL,
  muted_by   TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (app_id, auth_id)
);
