ALTER TABLE tasks ALTER COLUMN title TYPE varchar(255) COLLATE "default";
