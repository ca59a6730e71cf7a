//! The registry of document tasks: at most one task per article, loaded on first use and gone
//! again once it has been idle for a while.
//!
//! Each article has at most one slot. A slot is claimed before its document is read from the
//! store, so two callers never load the same document twice, and it goes only when its task has
//! ended, so a document is never read while its previous task may still append. A task that
//! goes idle closes its mailbox first: a command that still reaches it is handled before it
//! exits (and keeps it loaded), and a send that finds the mailbox closed is retried on the next
//! task. Callers that find a slot loading or closing wait for it to change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::domain::ArticleId;

use super::command::Command;

/// Commands that may queue for one document before senders wait.
pub(super) const MAILBOX: usize = 256;

struct Slot {
    id: u64,
    /// The task's mailbox; `None` while the document is being loaded.
    sender: Option<mpsc::Sender<Command>>,
    /// Changes when the slot gets a mailbox, and closes when its loader or task is gone.
    changed: watch::Receiver<()>,
}

/// What a caller finds for an article.
pub(super) enum Lookup {
    Live(mpsc::Sender<Command>),
    /// Being loaded or closing: wait, then look again.
    Wait(watch::Receiver<()>),
    /// Not loaded.
    Absent,
}

/// The right to load an article's document and run its task, handed from the loader to the task.
pub(super) struct Lease {
    registry: Arc<Registry>,
    article: ArticleId,
    id: u64,
    changed: watch::Sender<()>,
    /// How long the task may wait for a command with no peers before it unloads.
    idle: Option<Duration>,
}

#[derive(Default)]
pub(super) struct Registry {
    slots: Mutex<HashMap<ArticleId, Slot>>,
    next: AtomicU64,
    /// How long a task with no peers waits for a command before it unloads; never if `None`.
    idle: Option<Duration>,
}

impl Registry {
    pub(super) fn with_idle(idle: Option<Duration>) -> Self {
        Self {
            idle,
            ..Self::default()
        }
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<ArticleId, Slot>> {
        // A panic never happens while the lock is held; a poisoned map is still consistent.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks an article up without claiming it.
    pub(super) fn lookup(&self, article: &ArticleId) -> Lookup {
        let mut slots = self.slots();
        Self::find(&mut slots, article)
    }

    fn find(slots: &mut HashMap<ArticleId, Slot>, article: &ArticleId) -> Lookup {
        let Some(slot) = slots.get(article) else {
            return Lookup::Absent;
        };
        if let Some(sender) = slot.sender.as_ref().filter(|s| !s.is_closed()) {
            return Lookup::Live(sender.clone());
        }
        if slot.changed.has_changed().is_err() {
            // Its loader gave up or its task ended without forgetting it (a panic).
            slots.remove(article);
            return Lookup::Absent;
        }
        let mut changed = slot.changed.clone();
        changed.borrow_and_update();
        Lookup::Wait(changed)
    }

    /// Finds the live mailbox of an article, or claims the article for the caller to load.
    pub(super) fn claim(
        self: &Arc<Self>,
        article: &ArticleId,
    ) -> Result<mpsc::Sender<Command>, Claim> {
        let mut slots = self.slots();
        match Self::find(&mut slots, article) {
            Lookup::Live(sender) => Ok(sender),
            Lookup::Wait(changed) => Err(Claim::Wait(changed)),
            Lookup::Absent => {
                let id = self.next.fetch_add(1, Ordering::Relaxed);
                let (changed, receiver) = watch::channel(());
                slots.insert(
                    article.clone(),
                    Slot {
                        id,
                        sender: None,
                        changed: receiver,
                    },
                );
                Err(Claim::Load(Lease {
                    registry: self.clone(),
                    article: article.clone(),
                    id,
                    changed,
                    idle: self.idle,
                }))
            }
        }
    }

    /// Documents with a task (loading, running or closing).
    pub(super) fn len(&self) -> usize {
        self.slots().len()
    }

    /// Forgets every slot; their tasks end once the last sender is gone.
    pub(super) fn clear(&self) {
        self.slots().clear();
    }
}

pub(super) enum Claim {
    Wait(watch::Receiver<()>),
    Load(Lease),
}

impl Lease {
    /// How long the task may wait for a command with no peers before it unloads.
    pub(super) fn idle(&self) -> Option<Duration> {
        self.idle
    }

    /// Gives the loaded task a mailbox and tells waiting callers; `None` if the registry forgot
    /// the article meanwhile (shut down), and the task should end once its queue is empty.
    pub(super) fn open(&self) -> Option<(mpsc::Sender<Command>, mpsc::Receiver<Command>)> {
        let (sender, receiver) = mpsc::channel(MAILBOX);
        {
            let mut slots = self.registry.slots();
            match slots.get_mut(&self.article) {
                Some(slot) if slot.id == self.id => slot.sender = Some(sender.clone()),
                _ => return None,
            }
        }
        self.changed.send_replace(());
        Some((sender, receiver))
    }
}

impl Drop for Lease {
    /// The loader failed or the task ended: the article is free to load again. Waiters wake when
    /// `changed` drops, right after.
    fn drop(&mut self) {
        let mut slots = self.registry.slots();
        if slots.get(&self.article).is_some_and(|s| s.id == self.id) {
            slots.remove(&self.article);
        }
    }
}
