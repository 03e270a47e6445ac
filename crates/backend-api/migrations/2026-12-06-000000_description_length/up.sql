-- The API's 10,000-character bound on descriptions, in the database too: a row written any other way (a restore,
-- psql) can no longer be larger. NOT VALID: rows already there are not checked, so a database that holds an
-- oversized row still migrates and the backend starts (it warns about such rows at start-up); new and changed
-- rows are checked.
ALTER TABLE tasks ADD CONSTRAINT tasks_description_length CHECK (char_length(description) <= 10000) NOT VALID;
