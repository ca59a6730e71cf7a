//! The database's schema: versioned migrations compiled into the binary, applied in order by
//! whichever process gets the advisory lock first; the others wait for it and find them done.

use tokio_postgres::Client;

use super::pg_error as refused;
use super::pg_error as unreachable;
use crate::store::StoreError;

/// Every migration, in order; a migration is never edited once released.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "the event log", include_str!("migrations/0001_log.sql")),
    (
        2,
        "webhook cursors",
        include_str!("migrations/0002_webhooks.sql"),
    ),
];

/// The advisory lock that migrations (and other once-per-desk work) run under.
const MIGRATION_LOCK: i64 = 0x676c_6f73_7361_0001;

/// Brings the schema up to this build's version.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    // Even `CREATE TABLE IF NOT EXISTS` races with itself, so everything is under the lock.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unreachable)?;
    let applied = apply(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unreachable);
    applied?;
    unlocked.map(drop)
}

async fn apply(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS glossa_migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(refused)?;
    let current: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM glossa_migrations",
            &[],
        )
        .await
        .map_err(refused)?
        .get(0);
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > supported {
        return Err(StoreError::UnknownSchema {
            found: current,
            supported,
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let transaction = client.transaction().await.map_err(unreachable)?;
        transaction.batch_execute(sql).await.map_err(refused)?;
        transaction
            .execute(
                "INSERT INTO glossa_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .map_err(refused)?;
        transaction.commit().await.map_err(unreachable)?;
        tracing::info!(version, name, "migrated the database");
    }
    Ok(())
}
