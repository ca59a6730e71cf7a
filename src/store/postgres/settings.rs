//! The settings an acknowledgement depends on. Glossa answers a write once PostgreSQL has
//! committed it; with `fsync = off` a crash can lose or corrupt committed transactions, and with
//! `synchronous_commit = off` a commit is reported before its WAL is on disk. Either would make
//! an acknowledged write losable, so a connection to such a database is refused.

use tokio_postgres::Client;

use super::pg_error;
use crate::store::StoreError;

pub(super) async fn refuse_unsafe(client: &Client) -> Result<(), StoreError> {
    let row = client
        .query_one(
            "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
            &[],
        )
        .await
        .map_err(pg_error)?;
    judge(row.get(0), row.get(1))
}

/// What the two settings say about acknowledging writes.
fn judge(fsync: &str, synchronous_commit: &str) -> Result<(), StoreError> {
    if fsync != "on" {
        return Err(StoreError::UnsafeDatabase(format!(
            "PostgreSQL runs with fsync = {fsync}: a crash of its machine can lose or corrupt \
             transactions it reported committed, and Glossa acknowledges a write once it is \
             committed. Set fsync = on in postgresql.conf and reload PostgreSQL."
        )));
    }
    if synchronous_commit == "off" {
        return Err(StoreError::UnsafeDatabase(
            "PostgreSQL reports commits before their WAL is on disk (synchronous_commit = off \
             for this connection), so a crash could lose writes Glossa had acknowledged. Set \
             synchronous_commit to on (or local, remote_write, remote_apply) for the database \
             or the role Glossa uses, e.g. ALTER DATABASE … SET synchronous_commit = on."
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::judge;

    #[test]
    fn only_settings_that_wait_for_the_wal_are_accepted() {
        for ok in ["on", "local", "remote_write", "remote_apply"] {
            assert!(judge("on", ok).is_ok(), "{ok}");
        }
        let off = judge("on", "off").unwrap_err().to_string();
        assert!(off.contains("synchronous_commit = off"), "{off}");
        let no_fsync = judge("off", "on").unwrap_err().to_string();
        assert!(no_fsync.contains("fsync = off"), "{no_fsync}");
    }
}
