-- Searches (`q`: ILIKE '%…%' on the title or the description) use trigram indexes instead of reading every
-- description. pg_trgm is a trusted extension (PostgreSQL 13+): a role that owns its database, not only a
-- superuser, may create it, so this still runs once the backend connects as a non-superuser owner.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX tasks_title_trgm_idx ON tasks USING gin (title gin_trgm_ops);
CREATE INDEX tasks_description_trgm_idx ON tasks USING gin (description gin_trgm_ops);
