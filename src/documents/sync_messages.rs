//! Sync messages made once for every peer in the same state.
//!
//! Automerge makes a sync message from nothing but the document and the peer's sync state, and
//! moves that state on the same way each time. Most peers of a busy document are in the same
//! state: they have acknowledged the same change. Making the message once for all of them saves
//! a walk of the change graph per peer; what each peer is sent, and the state it is left in,
//! are exactly what Automerge would make for it alone.

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

/// How many distinct sync states' messages are remembered at the current heads (each entry
/// holds two states, with the peer's bloom filters and the hashes sent to it).
const MAX_MADE: usize = 64;
/// The largest message remembered. Bigger ones carry many changes (a peer's first sync carries
/// the whole document): they are rare, and keeping them would hold a copy of the document
/// for as long as it does not change.
const MAX_REMEMBERED_BYTES: usize = 4096;

/// The sync messages made at the latest heads asked about, by the state they were made for.
/// Documents with the same heads have the same history, so one of these also serves several
/// copies of a document (the load generator's clients); a change of heads forgets the rest.
#[derive(Default)]
pub struct SyncMessages {
    heads: Vec<ChangeHash>,
    /// The state before, the state after and the encoded message (`None`: nothing to send).
    by_state: HashMap<sync::State, (sync::State, Option<Vec<u8>>)>,
}

impl SyncMessages {
    /// What `generate_sync_message` would make for `state`, which it moves on as Automerge
    /// would.
    pub fn generate(&mut self, doc: &Automerge, state: &mut sync::State) -> Option<Vec<u8>> {
        // Changes waiting for their dependencies shape what a message asks for, and can come
        // and go while the heads stay: then nothing is remembered.
        if !doc.get_missing_deps(&[]).is_empty() {
            self.by_state.clear();
            return doc.generate_sync_message(state).map(sync::Message::encode);
        }
        let heads = doc.get_heads();
        if heads != self.heads {
            self.by_state.clear();
            self.heads = heads;
        }
        if let Some((after, message)) = self.by_state.get(state) {
            state.clone_from(after);
            return message.clone();
        }
        if self.by_state.len() >= MAX_MADE {
            self.by_state.clear();
        }
        let before = state.clone();
        let message = doc.generate_sync_message(state).map(sync::Message::encode);
        if message
            .as_ref()
            .is_none_or(|m| m.len() <= MAX_REMEMBERED_BYTES)
        {
            self.by_state
                .insert(before, (state.clone(), message.clone()));
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use automerge::sync::{self, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    use super::SyncMessages;
    use crate::documents::testing::sync_until_quiet;

    /// The server's document and its sync state with each of `clients` clients, synced until
    /// nobody has anything to send.
    fn synced(clients: usize) -> (Automerge, Vec<sync::State>) {
        let mut server = Automerge::new();
        let mut tx = server.transaction();
        tx.put(ROOT, "title", "first").unwrap();
        tx.commit();
        let mut states = vec![sync::State::new(); clients];
        let mut peers: Vec<_> = (0..clients)
            .map(|_| (Automerge::new(), sync::State::new()))
            .collect();
        for (state, (doc, theirs)) in states.iter_mut().zip(peers.iter_mut()) {
            sync_until_quiet(&mut server, state, doc, theirs);
        }
        (server, states)
    }

    /// Given two peers in the same state and one in another, when the document changes three
    /// times, then each peer gets the message Automerge makes for its state and ends in
    /// Automerge's state, and is sent nothing more until the next change.
    #[test]
    fn peers_in_one_state_share_a_message_that_is_automerges_own() {
        let (mut server, mut states) = synced(3);
        // The third has been sent something it has not acknowledged.
        let mut tx = server.transaction();
        tx.put(ROOT, "title", "second").unwrap();
        tx.commit();
        server.generate_sync_message(&mut states[2]).unwrap();
        assert_eq!(states[0], states[1]);
        assert_ne!(states[0], states[2]);

        let mut made = SyncMessages::default();
        for round in 0..3 {
            let mut tx = server.transaction();
            tx.put(ROOT, "title", format!("round {round}")).unwrap();
            tx.commit();
            for state in states.iter_mut() {
                let mut expected_state = state.clone();
                let expected = server
                    .generate_sync_message(&mut expected_state)
                    .map(sync::Message::encode);
                let message = made.generate(&server, state);
                assert!(message.is_some(), "round {round}: a change to send");
                assert_eq!(message, expected, "round {round}");
                assert_eq!(*state, expected_state, "round {round}");
            }
            // Equal states shared one message.
            assert!(made.by_state.len() < states.len(), "round {round}");
            // Asked again at the same heads: nothing more to send, as Automerge says.
            for state in states.iter_mut() {
                let mut expected_state = state.clone();
                let expected = server.generate_sync_message(&mut expected_state);
                assert_eq!(
                    made.generate(&server, state),
                    expected.map(sync::Message::encode)
                );
                assert_eq!(*state, expected_state);
            }
        }
        assert_eq!(states[0], states[1]);
    }

    /// Given a document bigger than a remembered message, when a new peer asks for it, then it
    /// gets Automerge's message and the document is not kept in the memo.
    #[test]
    fn a_first_sync_that_carries_the_document_is_not_kept() {
        let mut server = Automerge::new();
        let mut tx = server.transaction();
        // Text that does not compress: Automerge deflates what it saves.
        let mut seed: u64 = 7;
        let text: String = (0..4 * super::MAX_REMEMBERED_BYTES)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                char::from(b'a' + (seed >> 59) as u8)
            })
            .collect();
        tx.put(ROOT, "text", text).unwrap();
        tx.commit();
        let mut made = SyncMessages::default();
        let mut state = sync::State::new();
        // A peer's first message says it has nothing.
        let hello = Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .unwrap();
        server.receive_sync_message(&mut state, hello).unwrap();
        let mut expected_state = state.clone();
        let expected = server
            .generate_sync_message(&mut expected_state)
            .map(sync::Message::encode);
        let message = made.generate(&server, &mut state);
        assert!(message.as_ref().unwrap().len() > super::MAX_REMEMBERED_BYTES);
        assert_eq!(message, expected);
        assert_eq!(state, expected_state);
        assert!(made.by_state.is_empty(), "the document was kept");
    }

    /// Given a message made for a peer whose heads name a change we lack, when that change
    /// arrives without its dependency (so it waits, and the heads stay), then the next message
    /// for the same state is Automerge's, which now asks for the dependency.
    #[test]
    fn a_change_waiting_for_its_dependency_is_not_answered_from_memory() {
        let (mut server, mut states) = synced(1);
        let mut peer = server.fork();
        let mut tx = peer.transaction();
        tx.put(ROOT, "title", "dependency").unwrap();
        tx.commit();
        let dependency = peer.get_last_local_change().unwrap().clone();
        let mut tx = peer.transaction();
        tx.put(ROOT, "title", "waiting").unwrap();
        tx.commit();
        let waiting = peer.get_last_local_change().unwrap().clone();
        assert!(dependency.hash() != waiting.hash());
        let state = &mut states[0];
        state.their_heads = Some(vec![waiting.hash()]);
        let before = state.clone();

        let mut made = SyncMessages::default();
        let first = made.generate(&server, &mut state.clone());
        let heads = server.get_heads();
        server.apply_changes([waiting]).unwrap();
        assert_eq!(
            server.get_heads(),
            heads,
            "the change waits for its dependency"
        );

        let mut expected_state = before.clone();
        let expected = server
            .generate_sync_message(&mut expected_state)
            .map(sync::Message::encode);
        assert_ne!(first, expected, "the waiting change changes the message");
        let mut state = before;
        assert_eq!(made.generate(&server, &mut state), expected);
        assert_eq!(state, expected_state);
    }
}
