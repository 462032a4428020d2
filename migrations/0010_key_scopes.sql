-- What each app key may do (a JSON array of scopes, src/credentials.ts). Keys issued before scopes post events,
-- as they always could, and nothing more.
ALTER TABLE ingest_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '["events:write"]';
