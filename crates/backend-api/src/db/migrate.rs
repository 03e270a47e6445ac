//! The migrations, embedded in the binary and applied at start-up under an advisory lock.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::result::Error as DieselError;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any constant shared by every replica: whoever holds this advisory lock is the one migrating.
pub const MIGRATION_LOCK_KEY: i64 = 0x0074_6173_6b6d_6772; // "taskmgr" in ASCII

/// Why the migrations did not run. The messages carry their cause, as start-up prints only the top error.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("could not take the migration lock: {0}")]
    Lock(#[source] DieselError),
    #[error("migration failed: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("could not release the migration lock: {0}")]
    Unlock(#[source] DieselError),
}

/// Applies the pending migrations while holding a PostgreSQL advisory lock, so that replicas starting
/// together take turns: the first migrates, the others then find nothing to do. Returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> Result<usize, MigrateError> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .map_err(MigrateError::Lock)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|done| done.len());
    let unlocked = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
    let applied = result.map_err(MigrateError::Migration)?;
    unlocked.map_err(MigrateError::Unlock)?;
    warn_about_rule_breakers(conn);
    Ok(applied)
}

/// Names, at each start, the tasks that break a rule of the API: rows written behind it (psql, a restore) or
/// before the rule. The description CHECK is NOT VALID (a database holding a larger row still starts), and titles
/// became one line after rows could hold more. One scan of the table for every rule.
fn warn_about_rule_breakers(conn: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Breaker {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        /// One flag per rule, in the order of `rules`.
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Bool>)]
        broken: Vec<bool>,
    }
    let longest = task_types::limits::DESCRIPTION_MAX_CHARS;
    // (SQL condition that breaks it, what the warning calls it)
    let rules = [
        (
            format!("char_length(description) > {longest}"),
            format!("a description over {longest} characters"),
        ),
        (
            r"title ~ '[\r\n]'".to_owned(),
            "a title of more than one line".to_owned(),
        ),
    ];
    let conditions: Vec<&str> = rules
        .iter()
        .map(|(condition, _)| condition.as_str())
        .collect();
    let found = diesel::sql_query(format!(
        "SELECT id::text AS id, ARRAY[{}] AS broken FROM tasks WHERE {} ORDER BY id",
        conditions.join(", "),
        conditions.join(" OR ")
    ))
    .load::<Breaker>(conn);
    let breakers = match found {
        Ok(breakers) => breakers,
        Err(error) => {
            log::warn!("could not look for tasks that break the API's rules: {error}");
            return;
        }
    };
    for (rule, (_, what)) in rules.iter().enumerate() {
        let ids: Vec<&str> = breakers
            .iter()
            .filter(|breaker| breaker.broken[rule])
            .map(|breaker| breaker.id.as_str())
            .collect();
        if !ids.is_empty() {
            log::warn!(
                "{} tasks have {what} (written behind the API or before the rule; edit or delete them): {}",
                ids.len(),
                ids.join(", ")
            );
        }
    }
}
