//! Makes sled's writes durable before anyone is told they happened.
//!
//! sled 0.34.7's `flush()` writes its log with `sync_file_range`, which neither flushes the
//! device cache nor file metadata; only its background thread calls `sync_all`, every
//! `flush_every_ms`. Values too large for a log segment go to separate blob files that sled never
//! syncs at all. So after each `flush()` we `fdatasync` the data file ourselves, and fsync any
//! blob file written since the last commit together with its directory.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Holds the files to sync after each flush.
pub struct Durability {
    data_file: File,
    blob_dir: PathBuf,
    synced_blobs: BTreeSet<String>,
    /// Called before each sync, in tests: holds a sync back or fails it.
    before_sync: Option<SyncHook>,
}

/// What a test runs before each sync of a store it opens.
pub(super) type SyncHook = Box<dyn FnMut() -> io::Result<()> + Send>;

#[cfg(test)]
thread_local! {
    static NEXT_HOOK: std::cell::RefCell<Option<SyncHook>> = const { std::cell::RefCell::new(None) };
}

/// The next store this thread opens runs `hook` before each sync.
#[cfg(test)]
pub(super) fn hook_next_open(hook: SyncHook) {
    NEXT_HOOK.with(|next| *next.borrow_mut() = Some(hook));
}

impl Durability {
    pub fn open(sled_dir: &Path) -> io::Result<Self> {
        let data_file = File::open(sled_dir.join("db"))?;
        // The directory entries of sled's files must be durable too.
        File::open(sled_dir)?.sync_all()?;
        let mut durability = Self {
            data_file,
            blob_dir: sled_dir.join("blobs"),
            synced_blobs: BTreeSet::new(),
            before_sync: None,
        };
        #[cfg(test)]
        {
            durability.before_sync = NEXT_HOOK.with(|next| next.borrow_mut().take());
        }
        durability.sync_new_blobs()?;
        Ok(durability)
    }

    /// Call after `Db::flush()`: afterwards everything flushed is on stable storage.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(hook) = &mut self.before_sync {
            hook()?;
        }
        self.data_file.sync_data()?;
        self.sync_new_blobs()
    }

    fn sync_new_blobs(&mut self) -> io::Result<()> {
        let entries = match std::fs::read_dir(&self.blob_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut present = BTreeSet::new();
        let mut synced_any = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !self.synced_blobs.contains(&name) {
                File::open(entry.path())?.sync_all()?;
                synced_any = true;
            }
            present.insert(name);
        }
        if synced_any {
            File::open(&self.blob_dir)?.sync_all()?;
        }
        // Forget blobs sled has garbage-collected, so the set does not grow forever.
        self.synced_blobs = present;
        Ok(())
    }
}
