//! Receiving must leave the document and the peer's sync state exactly as Automerge's own
//! `receive_sync_message` would, whether or not the message crossed one of ours.

use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, PatchLog, ROOT};

use super::receive;

/// A server document and one peer, each with its sync state with the other.
struct Pair {
    server: Automerge,
    server_state: State,
    peer: Automerge,
    peer_state: State,
    /// Messages the server received that left hashes it sent unacknowledged.
    crossed: usize,
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
            crossed: 0,
        }
    }

    /// The server receives `message`; the outcome must be Automerge's.
    fn server_receives(&mut self, message: Message) {
        let mut expected_doc = self.server.clone();
        let mut expected = self.server_state.clone();
        expected_doc
            .receive_sync_message(&mut expected, message.clone())
            .unwrap();
        if !expected.sent_hashes.is_empty() {
            self.crossed += 1;
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
}

/// A message the peer sent before our change reached it: the change stays sent, unseen.
fn cross(pair: &mut Pair, value: i64) {
    edit(&mut pair.server, value);
    let change = pair.server_says().expect("the server sends its change");
    // The peer speaks before the change arrives: its heads do not include it.
    edit(&mut pair.peer, value + 1);
    let crossing = pair.peer_says().expect("the peer sends its change");
    pair.server_receives(crossing);
    pair.peer_receives(change);
}

#[test]
fn a_message_that_crossed_a_change_keeps_it_as_sent() {
    let mut pair = Pair::new(5);
    pair.settle();
    cross(&mut pair, 1);
    assert_eq!(pair.crossed, 1, "the crossing message left the change sent");
    pair.settle();
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
}

/// Two changes sent, the answer saw only the first: the second stays sent, unseen.
#[test]
fn an_answer_that_saw_one_of_two_changes_keeps_the_other_as_sent() {
    let mut pair = Pair::new(50);
    pair.settle();
    edit(&mut pair.server, 1);
    let first = pair
        .server_says()
        .expect("the server sends its first change");
    edit(&mut pair.server, 2);
    let second = pair
        .server_says()
        .expect("the server sends its second change");
    pair.peer_receives(first);
    let answer = pair.peer_says().expect("the peer answers the first");
    pair.server_receives(answer);
    assert_eq!(
        pair.server_state.sent_hashes.len(),
        1,
        "the second is unseen"
    );
    pair.peer_receives(second);
    pair.settle();
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
fn messages_that_cross_on_a_long_history_leave_the_state_automerge_would() {
    let mut pair = Pair::new(5000);
    pair.settle();
    for i in 0..5 {
        cross(&mut pair, 10 * i);
        // Two changes in flight before the peer answers.
        edit(&mut pair.server, 10 * i + 5);
        let first = pair.server_says().expect("the server sends its change");
        edit(&mut pair.server, 10 * i + 6);
        let crossing = pair.peer_says();
        pair.peer_receives(first);
        if let Some(message) = crossing {
            pair.server_receives(message);
        }
        pair.settle();
    }
    assert!(pair.crossed >= 5, "only {} messages crossed", pair.crossed);
    assert_eq!(pair.server.get_heads(), pair.peer.get_heads());
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

/// Given a document, when it is asked which changes it holds, then it names its own, not a
/// stranger's, and not one that waits for a dependency it lacks (looked up the slow way then).
#[test]
fn holds_names_the_changes_the_document_has() {
    let mut doc = Automerge::new();
    edit(&mut doc, 1);
    let held = doc.get_heads()[0];
    let mut other = doc.fork();
    edit(&mut other, 2);
    let parent = other.get_last_local_change().expect("a change");
    edit(&mut other, 3);
    let child = other.get_last_local_change().expect("a change");
    assert_eq!(
        super::holds(&doc, &[held, parent.hash(), child.hash()]),
        [true, false, false]
    );
    // The child arrives before its parent: it waits, and is not held.
    doc.apply_changes([child.clone()]).unwrap();
    assert_eq!(super::holds(&doc, &[held, child.hash()]), [true, false]);
    doc.apply_changes([parent.clone()]).unwrap();
    assert_eq!(
        super::holds(&doc, &[held, parent.hash(), child.hash()]),
        [true, true, true]
    );
}
