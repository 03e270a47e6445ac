//! The migrations, embedded in the binary and applied at start-up under an advisory lock.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::result::Error as DieselError;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any constant shared by every replica: whoever holds this advisory lock is the one migrating.
const MIGRATION_LOCK_KEY: i64 = 0x0074_6173_6b6d_6772; // "taskmgr" in ASCII

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
    Ok(applied)
}
