-- Where an app's Durable Objects live: a data jurisdiction, fixed at creation (it is part of every object's id),
-- and a location hint for objects created from then on. NULL: no restriction, no hint.
ALTER TABLE apps ADD COLUMN jurisdiction TEXT CHECK (jurisdiction IN ('eu', 'fedramp', 'fedramp-high', 'us'));
ALTER TABLE apps ADD COLUMN location_hint TEXT CHECK (location_hint IN ('wnam', 'enam', 'sam', 'weur', 'eeur', 'apac', 'apac-ne', 'apac-se', 'oc', 'afr', 'me'));
