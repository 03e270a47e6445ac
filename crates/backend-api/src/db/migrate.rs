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
    warn_oversized_descriptions(conn);
    Ok(applied)
}

/// The description CHECK is NOT VALID (a database holding a larger row still starts): such rows are named here.
fn warn_oversized_descriptions(conn: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Oversized {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        ids: String,
    }
    let found = diesel::sql_query(format!(
        "SELECT count(*) AS count, coalesce(string_agg(id::text, ', '), '') AS ids FROM \
         (SELECT id FROM tasks WHERE char_length(description) > {} ORDER BY id) oversized",
        task_types::limits::DESCRIPTION_MAX_CHARS
    ))
    .get_result::<Oversized>(conn);
    match found {
        Ok(Oversized { count: 0, .. }) => {}
        Ok(Oversized { count, ids }) => log::warn!(
            "{count} tasks have a description over {} characters (written behind the API; edit or delete \
             them): {ids}",
            task_types::limits::DESCRIPTION_MAX_CHARS
        ),
        Err(error) => log::warn!("could not look for oversized descriptions: {error}"),
    }
}
