//! What the processes sharing one database agree on: where the log's head is (for a barrier
//! that waits until this process's copy holds it), and one start-up at a time.

use tokio_postgres::Client;

use super::{connect, pg_error, Database};
use crate::store::StoreError;

/// The advisory lock start-up work runs under (seeding, the style rules, re-anchoring).
const STARTUP_LOCK: i64 = 0x676c_6f73_7361_0002;

/// Held while one process does the desk's start-up work; others wait for it. Dropping it closes
/// its connection, which releases the lock (so does the process dying).
pub struct StartupLock {
    _client: Client,
}

impl Database {
    /// The last position committed to the shared log.
    pub async fn head(&self) -> Result<u64, StoreError> {
        let db = self.clone();
        let handle = self.inner.runtime.handle().spawn(async move {
            db.with_client(|client| {
                Box::pin(async move {
                    let row = client
                        .query_one("SELECT seq FROM glossa_head", &[])
                        .await
                        .map_err(pg_error)?;
                    Ok(row.get::<_, i64>(0) as u64)
                })
            })
            .await
        });
        handle.await.map_err(|_| StoreError::Unavailable)?
    }

    /// Waits for the desk's start-up lock, on a connection of its own.
    pub async fn startup_lock(&self) -> Result<StartupLock, StoreError> {
        let config = self.inner.config.clone();
        let handle = self.inner.runtime.handle().spawn(async move {
            let client = connect(&config).await?;
            client
                .execute("SELECT pg_advisory_lock($1)", &[&STARTUP_LOCK])
                .await
                .map_err(pg_error)?;
            Ok(StartupLock { _client: client })
        });
        handle.await.map_err(|_| StoreError::Unavailable)?
    }
}
