//! Following the shared log: when another process commits, this one copies the new events into
//! its local log, so its reads, read models and documents see them.
//!
//! A notification (`LISTEN glossa_log`, sent by every commit with its last position) is only a
//! doorbell; so is a timer, so nothing depends on a notification arriving. Either asks the
//! log's writer to read what follows its local head, by position, and copy it: positions are
//! contiguous in commit order, so a read by position never skips a slow commit.

use std::time::Duration;

use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::copy::read_after;
use super::signals::CHANNEL;
use super::{connected, pg_error, within_patience, Database, Remote};
use crate::store::index::Index;
use crate::store::log::{Doorbell, Failure};
use crate::store::{local, EventRecord, StoreError};

/// How often the log is read without a notification.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Most events copied per doorbell; the rest on the next.
const PAGE: u64 = 5000;

impl Remote {
    /// Copies the events after `head` (up to a page) into the local log.
    pub(in crate::store) fn follow(
        &mut self,
        tree: &sled::Tree,
        index: &Index,
        head: u64,
    ) -> Result<Vec<EventRecord>, Failure> {
        let runtime = self.database.inner.runtime.handle().clone();
        let (config, client) = (&self.database.inner.config, &mut self.client);
        let read = runtime.block_on(async {
            let (connection, _) = connected(client, config).await?;
            within_patience(read_after(connection, head, head + PAGE)).await
        });
        let records = read.map_err(|error| {
            self.client = None;
            Failure::Transient(error)
        })?;
        if records.first().is_some_and(|r| r.seq != head + 1) {
            return Err(Failure::Fatal(StoreError::Corrupt(format!(
                "the database's log has a gap after position {head}"
            ))));
        }
        local::apply(tree, index, &records).map_err(Failure::Fatal)?;
        Ok(records)
    }
}

/// Rings `doorbell` on every notification and every `POLL_EVERY`, until the log closes.
pub(in crate::store) fn listen(database: &Database, doorbell: Doorbell) {
    let config = database.inner.config.clone();
    let signals = database.inner.signals.clone();
    database.inner.runtime.handle().spawn(async move {
        loop {
            match listen_once(&config, &doorbell, &signals).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::debug!(%error, "not listening to the log; polling until it answers");
                    tokio::time::sleep(POLL_EVERY).await;
                    if !doorbell.ring(None) {
                        return;
                    }
                }
            }
        }
    });
}

/// One connection's worth of listening: `Ok` once the log is closed, `Err` when the connection
/// is lost.
async fn listen_once(
    config: &Config,
    doorbell: &Doorbell,
    signals: &tokio::sync::broadcast::Sender<String>,
) -> Result<(), StoreError> {
    let connecting = async { config.connect(NoTls).await.map_err(pg_error) };
    let (client, mut connection) = super::within_patience(connecting).await?;
    let (tx, mut notified) = tokio::sync::mpsc::unbounded_channel();
    let signals = signals.clone();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CHANNEL => {
                    // Nobody listening is fine: signals are best effort.
                    let _ = signals.send(n.payload().to_owned());
                }
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if tx.send(n.payload().parse::<u64>().ok()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    });
    let listening = client
        .batch_execute(&format!("LISTEN glossa_log; LISTEN {CHANNEL}"))
        .await;
    let result = match listening {
        Err(error) => Err(pg_error(error)),
        Ok(()) => {
            let mut poll = tokio::time::interval(POLL_EVERY);
            loop {
                let rang = tokio::select! {
                    seq = notified.recv() => match seq {
                        Some(seq) => doorbell.ring(seq),
                        None => break Err(StoreError::DatabaseUnreachable {
                            reason: "the connection that listens to the log closed".into(),
                        }),
                    },
                    _ = poll.tick() => doorbell.ring(None),
                };
                if !rang {
                    break Ok(());
                }
            }
        }
    };
    driver.abort();
    result
}
