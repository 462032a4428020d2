-- The demo app and its users, for local development and tests only. Safe to run again: it restores the rows.
INSERT INTO apps (id, name, allowed_origins, created_at) VALUES (1, 'Demo', '[]', 0)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, allowed_origins = excluded.allowed_origins;

INSERT INTO access_tokens (token, app_id, auth_id, uname, role, created_at, expires_at, revoked_at) VALUES
  ('00000000-0000-4000-8000-000000000001', 1, 1, 'owner', 'OWNER', 0, NULL, NULL),
  ('00000000-0000-4000-8000-000000000002', 1, 2, 'mod', 'MOD', 0, NULL, NULL),
  ('00000000-0000-4000-8000-000000000003', 1, 3, 'alice', 'MEMBER', 0, NULL, NULL),
  ('00000000-0000-4000-8000-000000000004', 1, 4, 'bob', 'MEMBER', 0, NULL, NULL)
  ON CONFLICT (token) DO UPDATE SET app_id = excluded.app_id, auth_id = excluded.auth_id, uname = excluded.uname,
    role = excluded.role, expires_at = NULL, revoked_at = NULL;
