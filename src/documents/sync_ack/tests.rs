//! Receiving must leave the document and the peer's sync state exactly as Automerge's own
//! `receive_sync_message` would, and take no walk of the history for the messages an edit
//! brings.

use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, PatchLog, ROOT};

use super::{receive, trimmed_without_walk};

/// A server document and one peer, each with its sync state with the other.
struct Pair {
    server: Automerge,
    server_state: State,
    peer: Automerge,
    peer_state: State,
    /// Messages the server took without a walk of the history.
    fast: usize,
    /// Messages left to Automerge.
    slow: usize,
}

fn edit(doc: &mut Automerge, value: i64) {
    let mut tx = doc.transaction();
    tx.put(ROOT, "n", value).unwrap();
    tx.commit();
}

impl Pair {
    fn new(history: i64) -> Self {
        let mut server = Automerge::new();
        for i in 0..history {
            edit(&mut server, i);
        }
        Self {
            server,
            server_state: State::new(),
            peer: Automerge::new(),
            peer_state: State::new(),
            fast: 0,
            slow: 0,
        }
    }

    /// The server receives `message`; the outcome must be Automerge's.
    fn server_receives(&mut self, message: Message) {
        let mut expected_doc = self.server.clone();
        let mut expected = self.server_state.clone();
        expected_doc
            .receive_sync_message(&mut expected, message.clone())
            .unwrap();
        if trimmed_without_walk(&self.server_state, &message) {
            self.fast += 1;
        } else {
            self.slow += 1;
        }
        receive(
            &mut self.server,
            &mut self.server_state,
            message,
            &mut PatchLog::inactive(),
        )
        .unwrap();
        assert_eq!(self.server_state, expected);
        assert_eq!(self.server.get_heads(), expected_doc.get_heads());
    }

    fn server_says(&mut self) -> Option<Message> {
        self.server.generate_sync_message(&mut self.server_state)
    }

    fn peer_says(&mut self) -> Option<Message> {
        self.peer.generate_sync_message(&mut self.peer_state)
    }

    fn peer_receives(&mut self, message: Message) {
        self.peer
            .receive_sync_message(&mut self.peer_state, message)
            .unwrap();
    }

    /// Messages both ways until neither side has anything to say.
    fn settle(&mut self) {
        for _ in 0..50 {
            let a = self.peer_says();
            let quiet = a.is_none();
            if let Some(m) = a {
                self.server_receives(m);
            }
            match self.server_says() {
                Some(m) => self.peer_receives(m),
                None if quiet => return,
                None => {}
            }
        }
        panic!("the pair did not settle");
    }
}

#[test]
fn acknowledgements_leave_the_state_automerge_would() {
    let mut pair = Pair::new(20);
    pair.settle();
    for i in 0..10 {
        edit(&mut pair.server, 100 + i);
        pair.settle();
        edit(&mut pair.peer, 200 + i);
        pair.settle();
    }
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
    assert!(
        pair.fast >= 10,
        "only {} acknowledgements checked",
        pair.fast
    );
}

#[test]
fn a_message_that_crossed_a_change_keeps_it_as_sent() {
    let mut pair = Pair::new(5);
    pair.settle();
    edit(&mut pair.server, 1);
    let change = pair.server_says().expect("the server sends its change");
    // The peer speaks before the change arrives: its heads do not include it.
    edit(&mut pair.peer, 2);
    let crossing = pair.peer_says().expect("the peer sends its change");
    pair.server_receives(crossing);
    pair.peer_receives(change);
    let before = pair.fast;
    pair.settle();
    assert!(pair.fast > before);
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
}

#[test]
fn a_peer_that_lost_its_data_is_reset() {
    let mut pair = Pair::new(5);
    pair.settle();
    edit(&mut pair.server, 1);
    let _lost = pair.server_says();
    pair.peer = Automerge::new();
    pair.peer_state = State::new();
    pair.settle();
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
}

#[test]
fn an_edit_on_a_long_history_needs_no_walk() {
    let mut pair = Pair::new(5000);
    // The first sync sends the whole history: its acknowledgement may take the long way.
    // (Automerge's own walk then shows in debug builds' time, not in this count.)
    pair.settle();
    let (fast, slow) = (pair.fast, pair.slow);
    for i in 0..3 {
        edit(&mut pair.server, i);
        pair.settle();
        edit(&mut pair.peer, i);
        pair.settle();
    }
    assert!(
        pair.fast >= fast + 3,
        "{} messages checked, {} slow",
        pair.fast - fast,
        pair.slow - slow
    );
    assert_eq!(
        pair.slow, slow,
        "an edit's message walked the whole history"
    );
}

#[test]
fn a_change_whose_dependency_the_server_lacks_leaves_the_state_automerge_would() {
    let mut pair = Pair::new(5);
    pair.settle();
    // A third writer's change reaches the peer and not the server; the peer builds on it.
    let mut third = pair.peer.fork();
    edit(&mut third, 7);
    let theirs = third
        .get_last_local_change()
        .expect("the third writer's change");
    pair.peer.apply_changes([theirs]).unwrap();
    edit(&mut pair.peer, 8);
    let ours = pair
        .peer
        .get_last_local_change()
        .expect("the peer's change");
    // A message that brings the peer's change alone, naming heads the server does not know:
    // the server cannot apply it yet, and its state must still be what Automerge's would be.
    // (Made on a copy of the peer's state, as if it were lost: the peer sends both again.)
    let mut scratch = pair.peer_state.clone();
    let mut message = pair
        .peer
        .generate_sync_message(&mut scratch)
        .expect("the peer has changes to send");
    message.changes = vec![ours.raw_bytes().to_vec()].into();
    pair.server_receives(message);
    pair.settle();
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
}
