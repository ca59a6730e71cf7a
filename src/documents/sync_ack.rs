//! Receiving a peer's sync message at a cost that does not grow with the document's history.
//!
//! Automerge 0.12's `receive_sync_message` trims the hashes it sent the peer to those the peer
//! has not seen by visiting *every* ancestor of the peer's heads, so each message (the edit
//! itself, and the acknowledgement every other peer sends back) cost time in proportion to the
//! whole history. That walk only matters when something sent is not one of the peer's heads:
//! when nothing was sent since the peer last answered, or the peer's heads name everything
//! sent, the trimmed set is empty and is known without a walk. Then this module makes the same
//! update Automerge would (apply the changes, then the sync state); in any other case, rarer
//! (a message that crossed one of ours, or a peer that took several at once), the message goes
//! to Automerge.
//!
//! The tests compare the resulting document and state with Automerge's own.

use std::collections::{BTreeSet, HashSet};

use automerge::sync::{Capability, Message, MessageFlags, State, SyncDoc};
use automerge::{Automerge, AutomergeError, ChangeHash, PatchLog, ReadDoc};

/// Applies a peer's sync message to the document and to `state`, logging what changed in
/// `patch_log`: exactly what `receive_sync_message_log_patches` does.
pub(super) fn receive(
    doc: &mut Automerge,
    state: &mut State,
    message: Message,
    patch_log: &mut PatchLog,
) -> Result<(), AutomergeError> {
    if !trimmed_without_walk(state, &message) {
        return doc.receive_sync_message_log_patches(state, message, patch_log);
    }
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
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    if !changes.is_empty() && !state.read_only {
        let bytes: Vec<u8> = changes.iter().flatten().copied().collect();
        doc.load_incremental_log_patches(&bytes, patch_log)?;
        state.shared_heads = advance_heads(&before, &doc.get_heads(), &state.shared_heads);
    }
    // Everything sent is among the peer's heads (or nothing was sent): the peer has seen it all.
    let sent = std::mem::take(&mut state.sent_hashes);
    if changes.is_empty() && heads == before {
        state.last_sent_heads.clone_from(&heads);
    }
    let ours = doc.get_heads();
    let lookup = Lookup::new(doc);
    let known: Vec<ChangeHash> = heads
        .iter()
        .filter(|h| ours.contains(h) || before.contains(h) || sent.contains(h) || lookup.has(h))
        .copied()
        .collect();
    if known.len() == heads.len() {
        state.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            state.last_sent_heads = Vec::new();
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

/// Whether the hashes sent to the peer, trimmed to those it has not seen, are known to be none
/// without walking the history: nothing sent, a reset asked for, or every one of them named
/// among the peer's heads.
fn trimmed_without_walk(state: &State, message: &Message) -> bool {
    let reset = message
        .flags
        .is_some_and(|f| f.contains(MessageFlags::SYNC_RESET));
    reset
        || state
            .sent_hashes
            .iter()
            .all(|sent| message.heads.contains(sent))
}

/// Whether the document holds a change, without the cost of decoding its metadata.
pub(super) fn has_change(doc: &Automerge, hash: &ChangeHash) -> bool {
    Lookup::new(doc).has(hash)
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
