-- Sorting by title follows the alphabet, whatever the cluster's locale: a C-locale cluster, and the musl C
-- library of the official Alpine image, compare titles byte by byte, which put "Zebra" before "apple" and
-- "Éclair" after both. und-x-icu (ICU's root collation) ships with every PostgreSQL built with ICU, as the
-- official images and Debian's are. It is deterministic, so equality and ILIKE searches behave as before.
-- The indexes on title are rebuilt; the rows are not rewritten. A server without it (built without ICU, or a
-- database that is not UTF-8) keeps its own collation: titles then sort as before, and the backend starts.
DO $$
BEGIN
  ALTER TABLE tasks ALTER COLUMN title TYPE varchar(255) COLLATE "und-x-icu";
EXCEPTION WHEN undefined_object THEN
  RAISE NOTICE 'no ICU collation und-x-icu here (%): titles keep the database''s collation', SQLERRM;
END $$;
