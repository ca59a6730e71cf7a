//! Receiving a peer's sync message that carries no changes (an acknowledgement, a request),
//! at a cost that does not grow with the document's history.
//!
//! Every edit brings one such message back from every peer. Automerge 0.12's
//! `receive_sync_message` trims the hashes it sent the peer to those the peer has not seen by
//! walking *every* ancestor of the peer's heads, so each acknowledgement cost time in proportion
//! to the whole history. Here the same state update is made with a walk that stops as soon as
//! it can: at the hashes sent (usually the peer's heads themselves), and below any change too
//! old to have one of them as an ancestor (a change's operations all come after those of its
//! ancestors). A walk that would still be long is left to Automerge.
//!
//! A mistake here could only keep a hash in the sent set that the peer already has, which
//! holds back nothing the peer lacks; the tests compare the resulting state with Automerge's.

use std::collections::{BTreeSet, HashSet};

use automerge::sync::{Capability, Message, MessageFlags, State};
use automerge::{Automerge, ChangeHash};

/// Most changes the walk visits before it leaves the message to Automerge.
const MAX_WALK: usize = 4096;

/// Applies a message without changes to `state` as Automerge would, and returns `None`; gives
/// the message back untouched, for `receive_sync_message`, if it carries changes or the walk
/// would be long.
pub(super) fn receive_without_changes(
    doc: &Automerge,
    state: &mut State,
    message: Message,
) -> Option<Message> {
    if !message.changes.is_empty() {
        return Some(message);
    }
    let reset = message
        .flags
        .is_some_and(|f| f.contains(MessageFlags::SYNC_RESET));
    let sent = if reset {
        BTreeSet::new()
    } else {
        match seen_by_peer(doc, &state.sent_hashes, &message.heads) {
            Some(seen) => state
                .sent_hashes
                .iter()
                .filter(|h| !seen.contains(h))
                .copied()
                .collect(),
            None => return Some(message),
        }
    };
    apply(doc, state, message, sent);
    None
}

/// The state update of Automerge's `receive_sync_message` for a message without changes, with
/// `sent` the sent hashes already trimmed.
fn apply(doc: &Automerge, state: &mut State, message: Message, sent: BTreeSet<ChangeHash>) {
    let Message {
        heads,
        need,
        have,
        flags,
        ..
    } = message;
    state.in_flight = false;
    if let Some(flags) = flags {
        let mut capabilities = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            capabilities.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(capabilities);
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    state.sent_hashes = sent;
    if heads == doc.get_heads() {
        state.last_sent_heads.clone_from(&heads);
    }
    let known: Vec<ChangeHash> = heads.iter().filter(|h| has(doc, h)).copied().collect();
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
}

fn has(doc: &Automerge, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

/// Which of `sent` are ancestors of (or among) `heads`; `None` if finding out takes too long.
fn seen_by_peer(
    doc: &Automerge,
    sent: &BTreeSet<ChangeHash>,
    heads: &[ChangeHash],
) -> Option<HashSet<ChangeHash>> {
    let mut seen = HashSet::new();
    if sent.is_empty() {
        return Some(seen);
    }
    // A change can only be an ancestor of changes whose operations start after its own.
    let oldest = sent
        .iter()
        .filter_map(|h| doc.get_change_meta_by_hash(h))
        .map(|meta| meta.max_op)
        .min()?;
    let mut to_visit: Vec<ChangeHash> = heads.iter().filter(|h| has(doc, h)).copied().collect();
    let mut visited = HashSet::new();
    while let Some(hash) = to_visit.pop() {
        if !visited.insert(hash) {
            continue;
        }
        if visited.len() > MAX_WALK {
            return None;
        }
        if sent.contains(&hash) {
            seen.insert(hash);
            if seen.len() == sent.len() {
                break;
            }
        }
        let meta = doc.get_change_meta_by_hash(&hash)?;
        if meta.start_op > oldest {
            to_visit.extend(meta.deps.iter().filter(|d| !visited.contains(*d)));
        }
    }
    Some(seen)
}

#[cfg(test)]
mod tests;
