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

/// Runs `f` (a sled `flush` or `apply_batch`, nothing that takes this lock again) alone among
/// such calls in the process.
pub(super) fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _alone = SLED.lock().unwrap_or_else(PoisonError::into_inner);
    f()
}
