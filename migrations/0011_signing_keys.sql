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
