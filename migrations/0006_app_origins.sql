-- Each allowed origin of each app as a row, so that a request naming no app finds its app by an index lookup
-- instead of a json_each scan of every app. apps.allowed_origins stays the one place an origin is written:
-- the triggers keep this table equal to it, whoever writes the apps row.
CREATE TABLE app_origins (
  origin TEXT    NOT NULL,
  app_id INTEGER NOT NULL REFERENCES apps (id),
  PRIMARY KEY (origin, app_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO app_origins (origin, app_id)
  SELECT allowed.value, apps.id FROM apps, json_each(apps.allowed_origins) AS allowed;

CREATE TRIGGER app_origins_of_new_app AFTER INSERT ON apps BEGIN
  INSERT OR IGNORE INTO app_origins (origin, app_id) SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER app_origins_of_changed_app AFTER UPDATE OF allowed_origins ON apps BEGIN
  DELETE FROM app_origins WHERE app_id = OLD.id;
  INSERT OR IGNORE INTO app_origins (origin, app_id) SELECT value, NEW.id FROM json_each(NEW.allowed_origins);
END;

CREATE TRIGGER app_origins_of_deleted_app BEFORE DELETE ON apps BEGIN
  DELETE FROM app_origins WHERE app_id = OLD.id;
END;
