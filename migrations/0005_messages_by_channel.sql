-- The admin API's messages of one channel, newest first, read from this index instead of the app's whole history.
CREATE INDEX messages_by_channel ON messages (app_id, channel, id);
