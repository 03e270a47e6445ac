-- The tasks table. Rules that protect the data are enforced here too, not only in the API.
CREATE TYPE task_priority AS ENUM ('low', 'medium', 'high');

CREATE TABLE tasks (
    id          uuid PRIMARY KEY,
    title       varchar(255) NOT NULL CHECK (title = btrim(title) AND title <> ''),
    description text NOT NULL DEFAULT '',
    priority    task_priority NOT NULL DEFAULT 'medium',
    completed   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One index per ordering of the list (the default is newest first); the id breaks ties so pages are stable.
CREATE INDEX tasks_created_at_idx ON tasks (created_at, id);
CREATE INDEX tasks_updated_at_idx ON tasks (updated_at, id);
CREATE INDEX tasks_priority_idx ON tasks (priority, created_at, id);
CREATE INDEX tasks_title_idx ON tasks (title, id);
-- The status filter with the default order: "pending, newest first" is the UI's most common view.
CREATE INDEX tasks_completed_created_at_idx ON tasks (completed, created_at, id);
