//! Ephemeral messages between the processes of one desk (sync presence): sent with `NOTIFY` on
//! their own channel, received by every process's listener, never stored. Best effort, like
//! presence itself: one that does not fit a notification or meets a busy database is dropped.

use tokio::sync::broadcast;

use super::{pg_error, Database};

/// The notification channel signals travel on.
pub(super) const CHANNEL: &str = "glossa_signal";
/// PostgreSQL's limit on a notification's payload is 8000 bytes.
const MOST: usize = 7900;
/// Signals a slow subscriber may leave unread before it misses some.
pub(super) const BACKLOG: usize = 1024;

impl Database {
    /// Sends `payload` to every process of the desk (this one included).
    pub fn signal(&self, payload: String) {
        if payload.len() > MOST {
            tracing::debug!(
                bytes = payload.len(),
                "a signal too large for a notification was dropped"
            );
            return;
        }
        let db = self.clone();
        self.inner.runtime.handle().spawn(async move {
            let sent = db
                .with_client(|client| {
                    Box::pin(async move {
                        client
                            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                            .await
                            .map_err(pg_error)?;
                        Ok(())
                    })
                })
                .await;
            if let Err(error) = sent {
                tracing::debug!(%error, "a signal was not sent");
            }
        });
    }

    /// Every signal sent to the desk from now on, this process's own included.
    pub fn signals(&self) -> broadcast::Receiver<String> {
        self.inner.signals.subscribe()
    }
}
