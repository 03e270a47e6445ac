//! Rows as diesel reads and writes them, and their conversion to the wire's [`Task`].

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use task_types::{Priority, Task};
use uuid::Uuid;

use super::schema::{self, tasks};

/// `Priority` as the `task_priority` enum (a local newtype: the orphan rule keeps diesel's traits off
/// the shared `task-types`).
#[derive(Debug, Clone, Copy, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = schema::sql_types::TaskPriority)]
pub struct DbPriority(pub Priority);

impl diesel::serialize::ToSql<schema::sql_types::TaskPriority, Pg> for DbPriority {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, Pg>,
    ) -> diesel::serialize::Result {
        use std::io::Write;
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(diesel::serialize::IsNull::No)
    }
}

impl diesel::deserialize::FromSql<schema::sql_types::TaskPriority, Pg> for DbPriority {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(DbPriority(
            std::str::from_utf8(bytes.as_bytes())?.parse::<Priority>()?,
        ))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(Pg))]
pub(super) struct TaskRow {
    pub(super) id: Uuid,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) priority: DbPriority,
    pub(super) completed: bool,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Task {
        Task {
            id: row.id,
            title: row.title,
            description: row.description,
            priority: row.priority.0,
            completed: row.completed,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
