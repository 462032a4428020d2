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
