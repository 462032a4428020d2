-- The demo app and its users, for local development and tests only. Safe to run again: it restores the rows.
INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (1, 'Demo', '[]', 0)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins;

-- The digests of the demo tokens 00000000-0000-4000-8000-00000000000N, N = auth_id (scripts/local-server.mjs
-- prints them; test/worker/credentials.test.ts checks that each digest is its token's).
INSERT INTO access_tokens (id, digest, prefix, app_id, auth_id, uname, role, created_at, expires_at, revoked_at) VALUES
  (1, '11e594f481958c10e3015d0bf0447a22f068a8a647f475df15ce2c7ab4b8f3f1', '00000000', 1, 1, 'owner', 'OWNER', 0, NULL, NULL),
  (2, 'e79acd97ac88086665d85a762f43d533a45195b6bac5961a993e6ed362471439', '00000000', 1, 2, 'mod', 'MOD', 0, NULL, NULL),
  (3, '993224b4fe85990df64db926ca5c034675eb037399e2fcef041c8d7e31e54d3f', '00000000', 1, 3, 'alice', 'MEMBER', 0, NULL, NULL),
  (4, '008bf60b9309e6141ae7eb98acb2a35d7b6c84c27d3973561d60b32b070f95c8', '00000000', 1, 4, 'bob', 'MEMBER', 0, NULL, NULL)
  ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, prefix = excluded.prefix, app_id = excluded.app_id,
    auth_id = excluded.auth_id, uname = excluded.uname, role = excluded.role, expires_at = NULL, revoked_at = NULL;
