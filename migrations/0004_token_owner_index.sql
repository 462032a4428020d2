-- A moderation command's target is ranked by every token of its auth_id: found by this index, not a scan.
CREATE INDEX access_tokens_by_auth_id ON access_tokens (app_id, auth_id);
