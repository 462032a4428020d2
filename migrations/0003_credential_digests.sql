-- Access tokens are kept as SHA-256 digests, and apps get their own ingest keys, also kept as digests.
-- SQL cannot compute SHA-256, so the tokens issued before this step wait in plaintext_tokens until the Worker
-- digests them and moves them over (src/storage/d1-credentials.ts), before its first token lookup.
ALTER TABLE access_tokens RENAME TO plaintext_tokens;
DROP INDEX access_tokens_by_user;

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

CREATE TABLE ingest_keys (
  id         INTEGER PRIMARY KEY,
  digest     TEXT    NOT NULL UNIQUE,
  prefix     TEXT    NOT NULL,
  app_id     INTEGER NOT NULL REFERENCES apps (id),
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX ingest_keys_by_app ON ingest_keys (app_id, id);
