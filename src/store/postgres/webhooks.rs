//! Webhook cursors, leases and attempts in PostgreSQL (see `store::webhooks`): a process
//! delivers a subscription while its lease runs, and moves the cursor only while it holds it,
//! so two replicas never deliver one subscription at once for longer than a lease.

use std::time::Duration;

use uuid::Uuid;

use super::{pg_error, Database};
use crate::store::webhooks::{Attempt, ATTEMPTS_KEPT};
use crate::store::StoreError;

impl Database {
    /// Runs one piece of work on the shared connection from any async context.
    async fn run<T: Send + 'static>(
        &self,
        work: impl for<'c> FnOnce(
                &'c tokio_postgres::Client,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'c>,
            > + Send
            + 'static,
    ) -> Result<T, StoreError> {
        let db = self.clone();
        let handle = self
            .inner
            .runtime
            .handle()
            .spawn(async move { db.with_client(work).await });
        handle.await.map_err(|_| StoreError::Unavailable)?
    }

    pub(in crate::store) async fn claim(
        &self,
        subscription: Uuid,
        holder: Uuid,
        start: u64,
        lease: Duration,
    ) -> Result<Option<u64>, StoreError> {
        let (start, lease) = (start as i64, lease.as_secs_f64());
        self.run(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt(
                        "INSERT INTO glossa_webhook_cursors AS c (subscription, seq, holder, lease_until) \
                         VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
                         ON CONFLICT (subscription) DO UPDATE \
                           SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until \
                           WHERE c.holder = EXCLUDED.holder OR c.holder IS NULL OR c.lease_until < now() \
                         RETURNING seq",
                        &[&subscription, &start, &holder, &lease],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(row.map(|row| row.get::<_, i64>(0) as u64))
            })
        })
        .await
    }

    pub(in crate::store) async fn advance(
        &self,
        subscription: Uuid,
        holder: Uuid,
        seq: u64,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let (seq, lease) = (seq as i64, lease.as_secs_f64());
        self.run(move |client| {
            Box::pin(async move {
                let updated = client
                    .execute(
                        "UPDATE glossa_webhook_cursors \
                         SET seq = greatest(seq, $2), lease_until = now() + make_interval(secs => $4) \
                         WHERE subscription = $1 AND holder = $3",
                        &[&subscription, &seq, &holder, &lease],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(updated == 1)
            })
        })
        .await
    }

    pub(in crate::store) async fn release(
        &self,
        subscription: Uuid,
        holder: Uuid,
    ) -> Result<(), StoreError> {
        self.run(move |client| {
            Box::pin(async move {
                client
                    .execute(
                        "UPDATE glossa_webhook_cursors SET holder = NULL, lease_until = NULL \
                         WHERE subscription = $1 AND holder = $2",
                        &[&subscription, &holder],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(())
            })
        })
        .await
    }

    pub(in crate::store) async fn cursor(
        &self,
        subscription: Uuid,
    ) -> Result<Option<u64>, StoreError> {
        self.run(move |client| {
            Box::pin(async move {
                let row = client
                    .query_opt(
                        "SELECT seq FROM glossa_webhook_cursors WHERE subscription = $1",
                        &[&subscription],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(row.map(|row| row.get::<_, i64>(0) as u64))
            })
        })
        .await
    }

    pub(in crate::store) async fn record(
        &self,
        subscription: Uuid,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let attempt = attempt.clone();
        self.run(move |client| {
            Box::pin(async move {
                client
                    .execute(
                        "INSERT INTO glossa_webhook_attempts \
                         (subscription, seq, event_id, event_type, attempt, at, status, error, millis) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        &[
                            &subscription,
                            &(attempt.seq as i64),
                            &attempt.event_id,
                            &attempt.event_type,
                            &(attempt.attempt as i32),
                            &attempt.at,
                            &attempt.status.map(i32::from),
                            &attempt.error,
                            &(attempt.millis as i32),
                        ],
                    )
                    .await
                    .map_err(pg_error)?;
                client
                    .execute(
                        "DELETE FROM glossa_webhook_attempts WHERE subscription = $1 AND n <= \
                         (SELECT n FROM glossa_webhook_attempts WHERE subscription = $1 \
                          ORDER BY n DESC OFFSET $2 LIMIT 1)",
                        &[&subscription, &(ATTEMPTS_KEPT as i64)],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(())
            })
        })
        .await
    }

    pub(in crate::store) async fn attempts(
        &self,
        subscription: Uuid,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.run(move |client| {
            Box::pin(async move {
                let rows = client
                    .query(
                        "SELECT seq, event_id, event_type, attempt, at, status, error, millis \
                         FROM glossa_webhook_attempts WHERE subscription = $1 \
                         ORDER BY n DESC LIMIT $2",
                        &[&subscription, &(limit as i64)],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(rows
                    .iter()
                    .map(|row| Attempt {
                        seq: row.get::<_, i64>(0) as u64,
                        event_id: row.get(1),
                        event_type: row.get(2),
                        attempt: row.get::<_, i32>(3) as u32,
                        at: row.get(4),
                        status: row.get::<_, Option<i32>>(5).map(|s| s as u16),
                        error: row.get(6),
                        millis: row.get::<_, i32>(7) as u32,
                    })
                    .collect())
            })
        })
        .await
    }
}
