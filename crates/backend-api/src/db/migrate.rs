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
    let longest = task_types::limits::DESCRIPTION_MAX_CHARS;
    // The description CHECK is NOT VALID (a database holding a larger row still starts), and titles became
    // one line after rows could hold more: such rows are named at each start.
    warn_about_rows(
        conn,
        &format!("char_length(description) > {longest}"),
        &format!("a description over {longest} characters"),
    );
    warn_about_rows(conn, r"title ~ '[\r\n]'", "a title of more than one line");
    Ok(applied)
}

/// Warns, naming them, about the rows that break a rule of the API (`condition`, SQL): rows written behind it
/// (psql, a restore) or before the rule.
fn warn_about_rows(conn: &mut PgConnection, condition: &str, what: &str) {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        ids: String,
    }
    let found = diesel::sql_query(format!(
        "SELECT count(*) AS count, coalesce(string_agg(id::text, ', '), '') AS ids FROM \
         (SELECT id FROM tasks WHERE {condition} ORDER BY id) found"
    ))
    .get_result::<Found>(conn);
    match found {
        Ok(Found { count: 0, .. }) => {}
        Ok(Found { count, ids }) => log::warn!(
            "{count} tasks have {what} (written behind the API or before the rule; edit or delete them): {ids}"
        ),
        Err(error) => log::warn!("could not look for tasks with {what}: {error}"),
    }
}
