-- Erasing a user reads only that user's messages: by this index rather than by every message of its app.
CREATE INDEX messages_by_author ON messages (app_id, auth_id) WHERE auth_id IS NOT NULL;
