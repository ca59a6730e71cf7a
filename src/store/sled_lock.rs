//! One lock around the sled calls that take sled's own process-wide lock for a long time or
//! for writing.
//!
//! sled 0.34 guards every database in a process with one reader-writer lock. `flush()` holds
//! it for reading while it waits for its buffers to reach the disk; `apply_batch` takes it for
//! writing, and a writer that waits for it blocks every new reader, sled's own background
//! threads included. A flush that needed one of those readers to finish would then never end
//! (a test run hung so, ADR 0013). Taking this lock first, a batch waits here while a flush
//! runs, not in sled's queue, so sled's readers are never held back behind it.

use std::sync::{Mutex, PoisonError};

static SLED: Mutex<()> = Mutex::new(());

/// `tree.flush()` (a `sled::Db` is its default tree), alone among the store's flushes and
/// batches in the process.
pub(super) fn flush(tree: &sled::Tree) -> sled::Result<usize> {
    let _alone = SLED.lock().unwrap_or_else(PoisonError::into_inner);
    tree.flush()
}

/// `tree.apply_batch(batch)`, alone among the store's flushes and batches in the process.
pub(super) fn apply_batch(tree: &sled::Tree, batch: sled::Batch) -> sled::Result<()> {
    let _alone = SLED.lock().unwrap_or_else(PoisonError::into_inner);
    tree.apply_batch(batch)
}
