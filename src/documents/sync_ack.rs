//! Receiving a peer's sync message at a cost that does not grow with the document's history.
//!
//! Automerge 0.12's `receive_sync_message` trims the hashes it sent the peer to those the peer
//! has not seen by visiting *every* ancestor of the peer's heads, so each message (the edit
//! itself, and the acknowledgement every other peer sends back) cost time in proportion to the
//! whole history. This module makes the same update Automerge would (apply the changes, then
//! the sync state) without that walk. When nothing was sent since the peer last answered, or
//! the peer's heads name everything sent, the trimmed set is empty. Otherwise (a message that
//! crossed one of ours, or a peer that took several at once) it is found among the changes the
//! peer's heads lack, which Automerge lists from each actor's sequence numbers at a cost that
//! follows how far behind the peer is.
//!
//! The tests compare the resulting document and state with Automerge's own.

use std::collections::{BTreeSet, HashSet};

use automerge::sync::{Capability, Message, MessageFlags, State};
use automerge::{Automerge, AutomergeError, ChangeHash, PatchLog, ReadDoc};

/// Applies a peer's sync message to the document and to `state`, logging what changed in
/// `patch_log`: exactly what `receive_sync_message_log_patches` does.
pub(super) fn receive(
    doc: &mut Automerge,
    state: &mut State,
    message: Message,
    patch_log: &mut PatchLog,
) -> Result<(), AutomergeError> {
    let Message {
        heads,
        need,
        have,
        changes,
        flags,
        ..
    } = message;
    state.in_flight = false;
    let before: Vec<ChangeHash> = doc.get_heads();
    if let Some(flags) = flags {
        let mut capabilities = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        if flags.contains(MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    if !changes.is_empty() && !state.read_only {
        let bytes: Vec<u8> = changes.iter().flatten().copied().collect();
        doc.load_incremental_log_patches(&bytes, patch_log)?;
        state.shared_heads = advance_heads(&before, &doc.get_heads(), &state.shared_heads);
    }
    let sent = std::mem::take(&mut state.sent_hashes);
    let ours = doc.get_heads();
    let lookup = Lookup::new(doc);
    let known: Vec<ChangeHash> = heads
        .iter()
        .filter(|h| ours.contains(h) || before.contains(h) || sent.contains(h) || lookup.has(h))
        .copied()
        .collect();
    state.sent_hashes = unseen(doc, &heads, &known, sent);
    if changes.is_empty() && heads == before {
        state.last_sent_heads.clone_from(&heads);
    }
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = BTreeSet::new();
        }
    } else {
        let mut shared: BTreeSet<ChangeHash> = state.shared_heads.iter().copied().collect();
        shared.extend(known);
        state.shared_heads = shared.into_iter().collect();
    }
    state.their_have = Some(have);
    state.their_heads = Some(heads);
    state.their_need = Some(need);
    Ok(())
}

/// The hashes `sent` to the peer that its `heads` (of which this document holds `known`) do
/// not include: what Automerge's `filter_changes` leaves. None when every one sent is among
/// the heads; otherwise those among the changes the known heads lack.
fn unseen(
    doc: &Automerge,
    heads: &[ChangeHash],
    known: &[ChangeHash],
    sent: BTreeSet<ChangeHash>,
) -> BTreeSet<ChangeHash> {
    if sent.iter().all(|hash| heads.contains(hash)) {
        return BTreeSet::new();
    }
    if known.is_empty() {
        return sent;
    }
    let lacking: HashSet<ChangeHash> = doc
        .get_changes_meta(known)
        .into_iter()
        .map(|change| change.hash)
        .collect();
    sent.into_iter()
        .filter(|hash| lacking.contains(hash))
        .collect()
}

/// Whether the document holds a change, without the cost of decoding its metadata.
pub(super) fn has_change(doc: &Automerge, hash: &ChangeHash) -> bool {
    Lookup::new(doc).has(hash)
}

/// Which of `hashes` the document holds, each found as [`has_change`] finds one.
pub(super) fn holds(doc: &Automerge, hashes: &[ChangeHash]) -> Vec<bool> {
    let lookup = Lookup::new(doc);
    hashes.iter().map(|hash| lookup.has(hash)).collect()
}

/// Whether the document holds a change. Change metadata is decoded from the change graph's
/// columns, which costs time in proportion to the history; asking for a hash's missing
/// dependencies is a hash lookup, and exact when no change waits for its dependencies.
struct Lookup<'a> {
    doc: &'a Automerge,
    nothing_queued: bool,
}

impl<'a> Lookup<'a> {
    fn new(doc: &'a Automerge) -> Self {
        Self {
            doc,
            nothing_queued: doc.get_missing_deps(&[]).is_empty(),
        }
    }

    fn has(&self, hash: &ChangeHash) -> bool {
        if self.nothing_queued {
            self.doc
                .get_missing_deps(std::slice::from_ref(hash))
                .is_empty()
        } else {
            self.doc.get_change_meta_by_hash(hash).is_some()
        }
    }
}

/// The heads both sides have after applying a peer's changes, as Automerge computes them: our
/// new heads that are new, and the old shared heads that are still heads.
fn advance_heads(
    before: &[ChangeHash],
    after: &[ChangeHash],
    shared: &[ChangeHash],
) -> Vec<ChangeHash> {
    let before: HashSet<&ChangeHash> = before.iter().collect();
    let after_set: HashSet<&ChangeHash> = after.iter().collect();
    let advanced: BTreeSet<ChangeHash> = after
        .iter()
        .filter(|h| !before.contains(h))
        .chain(shared.iter().filter(|h| after_set.contains(h)))
        .copied()
        .collect();
    advanced.into_iter().collect()
}

#[cfg(test)]
mod tests;
