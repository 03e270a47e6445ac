ALTER TABLE tasks DROP CONSTRAINT tasks_description_length;
