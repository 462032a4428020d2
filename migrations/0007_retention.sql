-- How many days an app's messages are kept before the scheduled clean-up deletes them; NULL follows the
-- MESSAGE_RETENTION_DAYS var.
ALTER TABLE apps ADD COLUMN retention_days INTEGER CHECK (retention_days BETWEEN 1 AND 3650);

-- The scheduled clean-up finds expired mutes by this index rather than by reading every mute.
CREATE INDEX mutes_by_expiry ON mutes (expires_at);
